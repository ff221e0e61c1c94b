"""NetSpec: write nets in Python and get a NetParameter (prototxt) back.

    n = NetSpec()
    n.data, n.label = L.Data(source='train_lmdb', backend=P.Data.LMDB, batch_size=64, ntop=2)
    n.ip = L.InnerProduct(n.data, num_output=10, weight_filler=dict(type='xavier'))
    n.loss = L.SoftmaxWithLoss(n.ip, n.label)
    print(n.to_proto())

A keyword argument goes to the LayerParameter field of that name if there
is one (name, loss_weight, param, include, ...), otherwise to the layer
type's own parameter message (convolution_param for Convolution, ...).
`ntop` sets the number of tops and `in_place=True` makes the top the bottom.
"""
from collections import Counter, OrderedDict

from google.protobuf import descriptor

from .proto import caffe_pb2


def param_name_dict():
    """Layer type -> its LayerParameter field prefix, e.g. 'InnerProduct' ->
    'inner_product' (from each *_param field's message name)."""
    names = {}
    for field in caffe_pb2.LayerParameter.DESCRIPTOR.fields:
        if field.name.endswith('_param') and field.message_type is not None:
            message = field.message_type.name
            if message.endswith('Parameter'):
                names[message[:-len('Parameter')]] = field.name[:-len('_param')]
    return names


def _assign_field(proto, field, value):
    """Sets one field from Python values: dicts fill messages, lists fill
    repeated fields (a scalar appends one value), strings name enum values."""
    def convert(v):
        if field.type == descriptor.FieldDescriptor.TYPE_ENUM and isinstance(v, str):
            enum_value = field.enum_type.values_by_name.get(v)
            if enum_value is None:
                raise ValueError('%s has no value %r (one of %s)'
                                 % (field.full_name, v, list(field.enum_type.values_by_name)))
            return enum_value.number
        return v

    is_message = field.type == descriptor.FieldDescriptor.TYPE_MESSAGE
    if field.label == descriptor.FieldDescriptor.LABEL_REPEATED:
        values = value if isinstance(value, (list, tuple)) else [value]
        container = getattr(proto, field.name)
        for v in values:
            if is_message:
                assign_proto(container.add(), v)
            else:
                container.append(convert(v))
    elif is_message:
        assign_proto(getattr(proto, field.name), value)
    else:
        setattr(proto, field.name, convert(value))


def assign_proto(proto, value_or_name, value=None):
    """assign_proto(msg, {'a': 1, 'b': {...}}) or assign_proto(msg, 'a', 1)."""
    if value is None and isinstance(value_or_name, dict):
        for name, v in value_or_name.items():
            assign_proto(proto, name, v)
        return
    if hasattr(value_or_name, 'DESCRIPTOR') and value is None:
        proto.CopyFrom(value_or_name)
        return
    name = value_or_name
    field = proto.DESCRIPTOR.fields_by_name.get(name)
    if field is None:
        raise AttributeError('%s has no field %r' % (proto.DESCRIPTOR.full_name, name))
    if hasattr(value, 'DESCRIPTOR'):
        if field.label == descriptor.FieldDescriptor.LABEL_REPEATED:
            getattr(proto, name).add().CopyFrom(value)
        else:
            getattr(proto, name).CopyFrom(value)
        return
    _assign_field(proto, field, value)


class Top(object):
    """One output of a Function (a layer call)."""

    def __init__(self, fn, n):
        self.fn = fn
        self.n = n

    def to_proto(self):
        """A NetParameter holding this top's layer and everything it reads."""
        return to_proto(self)

    def _to_proto(self, layers, names, autonames):
        return self.fn._to_proto(layers, names, autonames)


class Function(object):
    """A layer call: type, input Tops and keyword parameters."""

    def __init__(self, type_name, inputs, params):
        self.type_name = type_name
        for i, top in enumerate(inputs):
            if not isinstance(top, Top):
                raise TypeError('%s: bottom %d is a %s, not a net top'
                                % (type_name, i, type(top).__name__))
        self.inputs = inputs
        self.params = dict(params)
        self.ntop = self.params.pop('ntop', 1)
        self.in_place = self.params.pop('in_place', False)
        if self.in_place and len(inputs) != 1:
            raise ValueError('%s: in_place needs exactly one bottom' % type_name)
        self.tops = tuple(Top(self, n) for n in range(self.ntop))

    def _get_name(self, names, autonames):
        if self not in names and self.ntop > 0:
            names[self] = self._get_top_name(self.tops[0], names, autonames)
        elif self not in names:
            autonames[self.type_name] += 1
            names[self] = self.type_name + str(autonames[self.type_name])
        return names[self]

    def _get_top_name(self, top, names, autonames):
        if top not in names:
            autonames[top.fn.type_name] += 1
            names[top] = top.fn.type_name + str(autonames[top.fn.type_name])
        return names[top]

    def _to_proto(self, layers, names, autonames):
        if self in layers:
            return
        bottom_names = []
        for top in self.inputs:
            top._to_proto(layers, names, autonames)
            bottom_names.append(layers[top.fn].top[top.n])
        layer = caffe_pb2.LayerParameter()
        layer.type = self.type_name
        layer.bottom.extend(bottom_names)
        if self.in_place:
            layer.top.extend(layer.bottom)
        else:
            layer.top.extend(self._get_top_name(top, names, autonames) for top in self.tops)
        layer.name = self._get_name(names, autonames)
        self._fill_params(layer)
        layers[self] = layer

    def _fill_params(self, layer):
        """Writes the keyword parameters into the LayerParameter `layer`."""
        type_params = param_name_dict().get(self.type_name)
        for key, value in self.params.items():
            if key in caffe_pb2.LayerParameter.DESCRIPTOR.fields_by_name:
                assign_proto(layer, key, value)
            elif type_params is not None:
                assign_proto(getattr(layer, type_params + '_param'), key, value)
            else:
                raise AttributeError('layer type %r has no parameter message for %r; pass it '
                                     'inside an explicit *_param dict' % (self.type_name, key))


class NetSpec(object):
    """Named tops, in assignment order; names become blob and layer names."""

    def __init__(self):
        super(NetSpec, self).__setattr__('tops', OrderedDict())

    def __setattr__(self, name, value):
        self.tops[name] = value

    def __getattr__(self, name):
        try:
            return self.tops[name]
        except KeyError:
            raise AttributeError(name)

    def __setitem__(self, key, value):
        self.__setattr__(key, value)

    def __getitem__(self, item):
        return self.__getattr__(item)

    def __delitem__(self, name):
        del self.tops[name]

    def keys(self):
        return list(self.tops.keys())

    def vals(self):
        return list(self.tops.values())

    def to_proto(self):
        names = {top: name for name, top in self.tops.items()}
        autonames = Counter()
        layers = OrderedDict()
        for top in self.tops.values():
            top._to_proto(layers, names, autonames)
        net = caffe_pb2.NetParameter()
        net.layer.extend(layers.values())
        return net


def to_proto(*tops):
    """A NetParameter with the layers needed to compute the given tops."""
    layers = OrderedDict()
    names = {}
    autonames = Counter()
    for top in tops:
        top.fn._to_proto(layers, names, autonames)
    net = caffe_pb2.NetParameter()
    net.layer.extend(layers.values())
    return net


class Layers(object):
    """L.AnyType(*bottoms, **params) -> Top (or a tuple of Tops for ntop > 1)."""

    def __getattr__(self, name):
        def layer_fn(*args, **kwargs):
            fn = Function(name, args, kwargs)
            if fn.ntop == 0:
                return fn
            if fn.ntop == 1:
                return fn.tops[0]
            return fn.tops
        return layer_fn


class Parameters(object):
    """P.Pooling.MAX -> the enum value of PoolingParameter.MAX."""

    def __getattr__(self, name):
        message = getattr(caffe_pb2, name + 'Parameter', None)
        if message is None:
            raise AttributeError('caffe_pb2 has no %sParameter' % name)

        class EnumValues(object):
            def __getattr__(self, value_name):
                return getattr(message, value_name)
        return EnumValues()


layers = Layers()
params = Parameters()
