"""Images and arrays in and out of nets: loading, resizing, cropping, the
Transformer that maps H x W x K images to net inputs, and BlobProto/Datum
conversions. Pure NumPy (plus Pillow for decoding image files)."""
import numpy as np

from . import _cortado
from .proto import caffe_pb2


def database_size(path, backend='LMDB'):
    """Number of records in a Data-layer database (Cortado addition)."""
    return _cortado.database_size(path, backend)


# --- Protobuf <-> array ----------------------------------------------------

def blobproto_to_array(blob, return_diff=False):
    """A BlobProto's data (or diff) as an array of its shape; legacy protos
    with num/channels/height/width come back 4-d."""
    values = blob.diff if return_diff else blob.data
    if blob.HasField('shape'):
        shape = tuple(blob.shape.dim)
    elif blob.HasField('num') or blob.HasField('channels') or blob.HasField('height') \
            or blob.HasField('width'):
        shape = (blob.num, blob.channels, blob.height, blob.width)
    else:
        shape = (len(values),)
    if not values and blob.double_data and not return_diff:
        values = blob.double_data
    return np.array(values, dtype=np.float32).reshape(shape)


def array_to_blobproto(arr, diff=None):
    """A BlobProto with arr's shape and data (and diff, same shape, if given)."""
    arr = np.asarray(arr)
    blob = caffe_pb2.BlobProto()
    blob.shape.dim.extend(arr.shape)
    blob.data.extend(arr.astype(np.float32).flat)
    if diff is not None:
        diff = np.asarray(diff)
        if diff.shape != arr.shape:
            raise ValueError('diff shape %s differs from data shape %s' % (diff.shape, arr.shape))
        blob.diff.extend(diff.astype(np.float32).flat)
    return blob


def arraylist_to_blobprotovector_str(arraylist):
    """Serialised BlobProtoVector of the arrays."""
    vector = caffe_pb2.BlobProtoVector()
    vector.blobs.extend([array_to_blobproto(a) for a in arraylist])
    return vector.SerializeToString()


def blobprotovector_str_to_arraylist(text):
    vector = caffe_pb2.BlobProtoVector()
    vector.ParseFromString(text)
    return [blobproto_to_array(blob) for blob in vector.blobs]


def array_to_datum(arr, label=None):
    """A Datum of a C x H x W array: uint8 goes to `data` bytes, anything
    else to `float_data`."""
    arr = np.asarray(arr)
    if arr.ndim != 3:
        raise ValueError('array_to_datum needs a 3-d (channels, height, width) array, got %d-d'
                         % arr.ndim)
    datum = caffe_pb2.Datum()
    datum.channels, datum.height, datum.width = arr.shape
    if arr.dtype == np.uint8:
        datum.data = arr.tobytes()
    else:
        datum.float_data.extend(arr.astype(np.float32).flat)
    if label is not None:
        datum.label = int(label)
    return datum


def datum_to_array(datum):
    """A Datum's pixels as a C x H x W array: uint8 for byte data, else float
    (float64, as pycaffe returns it). The label stays in datum.label."""
    shape = (datum.channels, datum.height, datum.width)
    count = datum.channels * datum.height * datum.width
    if len(datum.data):
        if len(datum.data) != count:
            raise ValueError('datum_to_array: a %dx%dx%d Datum needs %d data bytes, it has %d'
                             % (shape + (count, len(datum.data))))
        return np.frombuffer(datum.data, dtype=np.uint8).reshape(shape).copy()
    if len(datum.float_data) != count:
        raise ValueError('datum_to_array: a %dx%dx%d Datum needs %d float_data values, it has %d'
                         % (shape + (count, len(datum.float_data))))
    return np.array(datum.float_data, dtype=np.float32).astype(float).reshape(shape)


# --- Images ----------------------------------------------------------------

def load_image(filename, color=True):
    """An image file as H x W x 3 (RGB) or H x W x 1 float32 in [0, 1]."""
    from PIL import Image  # only needed for files
    with Image.open(filename) as image:
        image = image.convert('RGB' if color else 'L')
        pixels = np.asarray(image, dtype=np.float32) / 255.0
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    return pixels


def _resize_axis(image, new_size, axis, interp_order):
    """Resamples one axis by pixel-centre alignment (nearest or linear)."""
    old_size = image.shape[axis]
    if old_size == new_size:
        return image
    # Centre of output pixel i in input coordinates.
    position = (np.arange(new_size) + 0.5) * (old_size / float(new_size)) - 0.5
    position = np.clip(position, 0, old_size - 1)
    if interp_order == 0:
        return np.take(image, np.round(position).astype(int), axis=axis)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, old_size - 1)
    weight_shape = [1] * image.ndim
    weight_shape[axis] = new_size
    weight = (position - low).reshape(weight_shape)
    return np.take(image, low, axis=axis) * (1 - weight) + np.take(image, high, axis=axis) * weight


def resize_image(im, new_dims, interp_order=1):
    """Resizes H x W x K to new_dims (height, width); interp_order 0 is
    nearest neighbour, anything else bilinear. Returns float32."""
    if interp_order > 1:
        interp_order = 1  # bilinear is the smoothest this pure-NumPy version offers
    im = np.asarray(im, dtype=np.float32)
    out = _resize_axis(im, int(new_dims[0]), 0, interp_order)
    out = _resize_axis(out, int(new_dims[1]), 1, interp_order)
    return out.astype(np.float32)


def oversample(images, crop_dims):
    """Ten crops per image (four corners and the centre, each also mirrored)
    of H x W x K images: returns (10 * N) x crop_h x crop_w x K."""
    im_shape = np.array(images[0].shape[:2])
    crop_dims = np.array(crop_dims)
    h, w = int(crop_dims[0]), int(crop_dims[1])
    starts = [(0, 0), (0, im_shape[1] - w), (im_shape[0] - h, 0),
              (im_shape[0] - h, im_shape[1] - w)]
    centre = ((im_shape - crop_dims) / 2.0).astype(int)
    starts.append((int(centre[0]), int(centre[1])))
    crops = np.empty((10 * len(images), h, w, images[0].shape[-1]), dtype=np.float32)
    index = 0
    for image in images:
        window = [image[y:y + h, x:x + w, :] for y, x in starts]
        for crop in window + [c[:, ::-1, :] for c in window]:
            crops[index] = crop
            index += 1
    return crops


# --- Transformer -------------------------------------------------------------

class Transformer(object):
    """Maps H x W x K images (e.g. from load_image) to an input blob's
    layout and back. `inputs` is {input name: blob shape}. preprocess()
    applies, in order: resize to the blob's H x W, transpose, channel swap,
    raw scale, mean subtraction, input scale; deprocess() undoes them."""

    def __init__(self, inputs):
        self.inputs = dict(inputs)
        self.transpose = {}
        self.channel_swap = {}
        self.raw_scale = {}
        self.mean = {}
        self.input_scale = {}

    def _check_input(self, in_):
        if in_ not in self.inputs:
            raise KeyError('%r is not one of the inputs %s' % (in_, sorted(self.inputs)))

    def set_transpose(self, in_, order):
        """Axis order to apply, e.g. (2, 0, 1) for H x W x K -> K x H x W."""
        self._check_input(in_)
        if len(order) != len(self.inputs[in_]) - 1:
            raise ValueError('transpose order %s must have %d axes (the blob minus batch)'
                             % (tuple(order), len(self.inputs[in_]) - 1))
        self.transpose[in_] = order

    def set_channel_swap(self, in_, order):
        """Channel order after transposing, e.g. (2, 1, 0) for RGB -> BGR."""
        self._check_input(in_)
        if len(order) != self.inputs[in_][1]:
            raise ValueError('channel swap %s must list the %d channels'
                             % (tuple(order), self.inputs[in_][1]))
        self.channel_swap[in_] = order

    def set_raw_scale(self, in_, scale):
        """Multiplies the raw image (e.g. 255 for [0, 1] images of a net
        trained on 0..255) before mean subtraction."""
        self._check_input(in_)
        self.raw_scale[in_] = scale

    def set_mean(self, in_, mean):
        """A per-channel (K,) or per-pixel (K x H x W) mean to subtract."""
        self._check_input(in_)
        mean = np.asarray(mean, dtype=np.float32)
        channels_dims = tuple(self.inputs[in_][1:])
        if mean.ndim == 1:
            if mean.shape[0] != channels_dims[0]:
                raise ValueError('mean has %d channels, the input %d'
                                 % (mean.shape[0], channels_dims[0]))
            mean = mean[:, np.newaxis, np.newaxis]
        elif mean.shape[0] != channels_dims[0]:
            raise ValueError('mean shape %s does not match the input %s'
                             % (mean.shape, channels_dims))
        elif mean.shape[1:] != channels_dims[1:]:
            raise ValueError('mean spatial shape %s does not match the input %s'
                             % (mean.shape[1:], channels_dims[1:]))
        self.mean[in_] = mean

    def set_input_scale(self, in_, scale):
        """Multiplies after mean subtraction (e.g. 1/256 for LeNet)."""
        self._check_input(in_)
        self.input_scale[in_] = scale

    def preprocess(self, in_, data):
        """One H x W x K image -> K x H x W float32 ready for blob `in_`."""
        self._check_input(in_)
        x = np.asarray(data, dtype=np.float32)
        in_dims = tuple(self.inputs[in_][2:])
        if x.shape[:2] != in_dims:
            x = resize_image(x, in_dims)
        if in_ in self.transpose:
            x = x.transpose(self.transpose[in_])
        if in_ in self.channel_swap:
            x = x[list(self.channel_swap[in_]), :, :]
        if in_ in self.raw_scale:
            x = x * self.raw_scale[in_]
        if in_ in self.mean:
            x = x - self.mean[in_]
        if in_ in self.input_scale:
            x = x * self.input_scale[in_]
        return np.ascontiguousarray(x, dtype=np.float32)

    def deprocess(self, in_, data):
        """The inverse of preprocess (minus the resize): K x H x W -> H x W x K."""
        self._check_input(in_)
        x = np.array(data, dtype=np.float32).squeeze()
        if x.ndim == 2:  # squeeze dropped a single channel
            x = x[np.newaxis]
        if in_ in self.input_scale:
            x = x / self.input_scale[in_]
        if in_ in self.mean:
            x = x + self.mean[in_]
        if in_ in self.raw_scale:
            x = x / self.raw_scale[in_]
        if in_ in self.channel_swap:
            x = x[np.argsort(self.channel_swap[in_]), :, :]
        if in_ in self.transpose:
            x = x.transpose(np.argsort(self.transpose[in_]))
        return x
