// Python: a layer whose setup/reshape/forward/backward are methods of a
// Python class (python_param { module layer param_str }), as in pycaffe.
// Compiled only in Python builds. Inside a Python process it uses that
// interpreter; in `cortado train` it starts an embedded one on first use.
#include <mutex>
#include <string>
#include <vector>

#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace py = pybind11;

namespace cortado {
namespace {

// Starts the interpreter once when no Python process hosts us, then hands
// the GIL back so whichever thread runs the net can take it.
void EnsureInterpreter() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (Py_IsInitialized()) return;
    py::initialize_interpreter();
    PyEval_SaveThread();
  });
}

class PythonLayer : public Layer {
 public:
  using Layer::Layer;

  ~PythonLayer() override {
    // Past interpreter shutdown the object is already gone; drop the handle.
    if (!Py_IsInitialized()) {
      self_.release();
      return;
    }
    py::gil_scoped_acquire gil;
    self_ = py::object();
  }

  const char* type() const override { return "Python"; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::PythonParameter& p = layer_param_.python_param();
    if (p.module().empty() || p.layer().empty()) {
      ThrowError(ErrorPrefix(), "python_param needs both `module` and `layer`");
    }
    EnsureInterpreter();
    py::gil_scoped_acquire gil;
    CallPython("setup", [&] {
      // Importing cortado registers the Blob type the methods receive.
      ImportOrExplain("cortado");
      py::object cls = ImportOrExplain(p.module()).attr(p.layer().c_str());
      self_ = cls();
      self_.attr("param_str") = p.param_str();
      self_.attr("phase") = static_cast<int>(phase_);
      self_.attr("setup")(Wrap(bottom), Wrap(top));
    });
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    py::gil_scoped_acquire gil;
    CallPython("reshape", [&] { self_.attr("reshape")(Wrap(bottom), Wrap(top)); });
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    py::gil_scoped_acquire gil;
    CallPython("forward", [&] { self_.attr("forward")(Wrap(bottom), Wrap(top)); });
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    py::gil_scoped_acquire gil;
    CallPython("backward", [&] {
      self_.attr("backward")(Wrap(top), py::cast(propagate_down), Wrap(bottom));
    });
  }

 private:
  static py::list Wrap(const BlobVec& blobs) {
    py::list out;
    for (Blob* blob : blobs) out.append(py::cast(blob, py::return_value_policy::reference));
    return out;
  }

  py::module_ ImportOrExplain(const std::string& module) const {
    try {
      return py::module_::import(module.c_str());
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_ImportError)) throw;
      ThrowError(ErrorPrefix(), "cannot import Python module '", module, "' (", e.what(),
                 "); put its directory, and build/python for cortado itself, on PYTHONPATH");
    }
  }

  // Runs a call into Python, turning a Python exception into an Error that
  // names this layer, the method and the Python message.
  template <typename Fn>
  void CallPython(const char* method, Fn&& fn) {
    try {
      fn();
    } catch (py::error_already_set& e) {
      ThrowError(ErrorPrefix(), "Python ", method, "() raised ", e.what());
    } catch (py::cast_error& e) {
      ThrowError(ErrorPrefix(), "Python ", method, "(): ", e.what());
    }
  }

  py::object self_;
};

}  // namespace

CORTADO_REGISTER_LAYER(Python, PythonLayer)

}  // namespace cortado
