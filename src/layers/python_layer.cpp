// Python: a layer whose setup/reshape/forward/backward are methods of a
// Python class (python_param { module layer param_str }), as in pycaffe.
// Its learnable parameters are this layer's blobs_, which the Python object
// creates with self.blobs.add_blob(*shape) in setup(); the net then treats
// them as any layer's (saved, loaded, updated by the solver).
// Compiled only in Python builds. Inside a Python process it uses that
// interpreter; in `cortado train` it starts an embedded one on first use.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include "python_layer.hpp"

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
    // The Python object may outlive us (a script kept `self`); its blob list
    // must stop reaching into this layer.
    if (self_ && py::hasattr(self_, "blobs")) {
      py::object blobs = self_.attr("blobs");
      if (py::hasattr(blobs, "_detach")) blobs.attr("_detach")();
    }
    self_ = py::object();
  }

  const char* type() const override { return "Python"; }
  const py::object& self() const { return self_; }

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
      self_.attr("blobs") = ParamBlobList();
      in_setup_ = true;
      try {
        self_.attr("setup")(Wrap(bottom), Wrap(top));
      } catch (...) {
        in_setup_ = false;
        throw;
      }
      in_setup_ = false;
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

  // pycaffe's self.blobs: a list-like view of blobs_ with add_blob(*shape).
  // The callables capture `this`; ~PythonLayer detaches them.
  py::object ParamBlobList() {
    py::cpp_function count([this] { return blobs_.size(); });
    py::cpp_function get([this](size_t index) {
      if (index >= blobs_.size()) {
        throw py::index_error(StrCat(ErrorPrefix(), "has ", blobs_.size(),
                                     " parameter blob(s); no blob ", index));
      }
      return py::cast(blobs_[index].get(), py::return_value_policy::reference);
    });
    py::cpp_function add([this](const std::vector<int>& shape) {
      // The net collects parameters right after setup; one added later
      // would be neither learned nor saved.
      if (!in_setup_) {
        ThrowError(ErrorPrefix(), "self.blobs.add_blob() may only be called in setup()");
      }
      blobs_.push_back(std::make_unique<Blob>(shape));
      return py::cast(blobs_.back().get(), py::return_value_policy::reference);
    });
    return py::module_::import("cortado.pycaffe").attr("_LayerBlobs")(count, get, add);
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
  bool in_setup_ = false;
};

}  // namespace

PyObject* PythonLayerObject(const Layer& layer) {
  const auto* python = dynamic_cast<const PythonLayer*>(&layer);
  py::object self = python != nullptr && python->self() ? python->self() : py::none();
  return self.release().ptr();
}

CORTADO_REGISTER_LAYER(Python, PythonLayer)

}  // namespace cortado
