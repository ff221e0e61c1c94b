// The Python layer's bridge to the extension module: the Python object that
// implements a `type: "Python"` layer. Internal; Python builds only.
#ifndef CORTADO_SRC_LAYERS_PYTHON_LAYER_HPP_
#define CORTADO_SRC_LAYERS_PYTHON_LAYER_HPP_

#include <pybind11/pybind11.h>

#include "cortado/layer.hpp"

namespace cortado {

// The instance of the python_param class behind `layer` (a new reference);
// None for layers of other types. The caller must hold the GIL. A raw
// PyObject*, not pybind11::object: pybind11's types are hidden, and a
// function returning one would be hidden in libcortado.so too.
PyObject* PythonLayerObject(const Layer& layer);

}  // namespace cortado

#endif  // CORTADO_SRC_LAYERS_PYTHON_LAYER_HPP_
