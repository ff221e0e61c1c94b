// The _cortado extension: converts between Python/NumPy and the C++ API. It
// owns nothing; pycaffe conveniences live in the package's .py files.
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <glog/logging.h>

#include "cortado/blob.hpp"
#include "cortado/communicator.hpp"
#include "cortado/db.hpp"
#include "cortado/device.hpp"
#include "cortado/hdf5.hpp"
#include "cortado/io.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/memory_data_layer.hpp"
#include "cortado/nccl.hpp"
#include "cortado/net.hpp"
#include "cortado/onnx_export.hpp"
#include "cortado/plugin.hpp"
#include "cortado/rng.hpp"
#include "cortado/solver.hpp"
#include "layers/python_layer.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace cortado {
namespace {

caffe::Phase ToPhase(int phase) {
  if (phase != caffe::TRAIN && phase != caffe::TEST) {
    ThrowError("phase must be caffe.TRAIN (0) or caffe.TEST (1), got ", phase);
  }
  return static_cast<caffe::Phase>(phase);
}

// A list of objects the C++ side owns; each keeps `owner` (the Python object
// of their net, layer or solver) alive, so nothing outlives its storage.
// A wrapper that already exists got its keep-alive when it was made; adding
// another on every `net.blobs` would grow the owner's patient list forever.
template <typename T>
py::list Borrowed(const std::vector<T*>& items, py::handle owner) {
  const py::detail::type_info* type = py::detail::get_type_info(typeid(T));
  py::list out;
  for (T* item : items) {
    const bool existed = py::detail::get_object_handle(item, type).ptr() != nullptr;
    py::object object = py::cast(item, py::return_value_policy::reference);
    if (!existed) py::detail::keep_alive_impl(object, owner);
    out.append(object);
  }
  return out;
}

template <typename T>
py::list BorrowedUnique(const std::vector<std::unique_ptr<T>>& items, py::handle owner) {
  std::vector<T*> raw;
  for (const auto& item : items) raw.push_back(item.get());
  return Borrowed(raw, owner);
}

// What a blob view's base (a capsule) holds. `blob` keeps the Python Blob,
// and through it the net, alive. `memory` keeps the storage the view points
// at alive: Blob::Reshape to a larger count (or ShareData) swaps in new
// storage and drops the old, and a view kept alive by the blob alone would
// then point at freed memory. So a view taken before such a reshape stays
// valid but detached: it reads and writes the old buffer while the blob uses
// the new one. A reshape within the capacity keeps the storage, and old
// views still alias the blob; as in pycaffe, take `blob.data` again after a
// reshape. SyncedMemory never moves its host buffer once allocated, so the
// pointer stays good for the capsule's life. The capsule is freed by
// Python's deallocator, with the GIL held, so dropping `blob` there is safe.
struct ViewOwner {
  std::shared_ptr<SyncedMemory> memory;
  py::object blob;
};

// A writable NumPy view of a blob's data or diff (see ViewOwner).
py::array BlobArray(py::object self, bool diff) {
  Blob& blob = self.cast<Blob&>();
  std::vector<py::ssize_t> shape(blob.shape().begin(), blob.shape().end());
  if (blob.count() == 0) return py::array_t<float>(shape);
  float* data = diff ? blob.mutable_cpu_diff() : blob.mutable_cpu_data();
  auto owner = std::make_unique<ViewOwner>(
      ViewOwner{diff ? blob.diff_memory() : blob.data_memory(), self});
  py::capsule base(owner.get(), [](void* p) { delete static_cast<ViewOwner*>(p); });
  owner.release();  // the capsule owns it now
  return py::array_t<float>(shape, data, base);
}

// pycaffe's set_mode_gpu()/set_device() choose where nets made afterwards
// run; the choice lives here, in the binding, not in the library.
Device& PythonDevice() {
  static Device device;
  return device;
}

// pycaffe scripts read intermediate blobs all the time (net.blobs['conv1']
// after forward), and may write a parameter through a NumPy view they took
// before the last forward, which no data version can see. So a Net made here
// does not fuse unless the script asks (fuse=True or net.fuse(True)); see
// docs/performance.md, "Inference fusion". For the same reason memory
// planning, which recycles every blob but inputs, outputs and kept ones, is
// off unless the script (plan_memory=True, net.plan_memory()) or the
// prototxt (plan_memory: true) asks; docs/memory.md.
std::unique_ptr<Net> MakeNet(const std::string& model, int phase, int level,
                             const std::vector<std::string>& stages, py::object weights,
                             bool fuse = false, bool plan_memory = false) {
  auto net = std::make_unique<Net>(model, ToPhase(phase), level, stages);
  net->set_fuse_inference(fuse);
  if (plan_memory) net->set_plan_memory(true);
  // As in Caffe (net surgery loads a caffemodel into a changed net), layers
  // the weights lack keep their fillers with a warning; weights that match
  // no layer at all raise.
  if (!weights.is_none()) net->CopyTrainedLayersFrom(weights.cast<std::string>());
  net->SetDevice(PythonDevice());
  return net;
}

// Reads a solver prototxt; a non-empty `type` overrides the file's (so
// caffe.AdamSolver(path) is Adam whatever the file says, as in pycaffe).
// A script started by mpirun with several ranks trains data-parallel: every
// solver it makes is a replica over all the ranks. Opened on first use and
// kept for the life of the process (solvers hold it unowned).
Communicator* PythonMpiWorld() {
  static std::unique_ptr<Communicator> world;
  if (!world && MpiLaunchSize() > 1) {
    world = OpenMpiWorld();
    // Rank 0 alone logs; the others still report errors.
    if (world->rank() != 0) FLAGS_minloglevel = google::GLOG_ERROR;
    std::atexit([] {
      world.reset();
      FinalizeMpi();
    });
  }
  return world.get();
}

std::unique_ptr<Solver> MakeSolver(const std::string& path, const std::string& type) {
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(path, &param);
  if (!type.empty()) param.set_type(type);
  const Device& device = PythonDevice();
  param.set_solver_mode(device.is_cuda() ? caffe::SolverParameter::GPU
                                         : caffe::SolverParameter::CPU);
  param.set_device_id(device.id());
  Communicator* world = PythonMpiWorld();
  if (world == nullptr) return CreateSolver(param);
  ShareRandomSeed(&param, world);
  std::unique_ptr<Solver> solver = CreateSolver(param);
  solver->set_communicator(world);
  ReseedReplica(param, world->rank());
  return solver;
}

// Entry i of a per-layer list of net, with Python's negative indices.
std::vector<int> LayerEntry(const Net& net, const std::vector<std::vector<int>>& per_layer,
                            int i) {
  const int n = static_cast<int>(per_layer.size());
  if (i < -n || i >= n) {
    throw py::index_error(StrCat("net '", net.name(), "' has ", n, " layers; no layer ", i));
  }
  return per_layer[i < 0 ? i + n : i];
}

// layer.reshape(bottom, top) from Python: the blob counts are checked first,
// since a layer indexes its bottoms and tops without looking.
void CheckBlobCounts(const Layer& layer, const BlobVec& bottom, const BlobVec& top) {
  auto check = [&](const char* side, int got, int exact, int min, int max) {
    if ((exact >= 0 && got != exact) || (min >= 0 && got < min) || (max >= 0 && got > max)) {
      ThrowError("layer '", layer.name(), "' (", layer.type(), "): reshape got ", got, " ", side,
                 " blob(s); it takes ", exact >= 0 ? StrCat("exactly ", exact)
                                                   : StrCat("from ", std::max(min, 0), " to ",
                                                            max >= 0 ? std::to_string(max)
                                                                     : std::string("any")));
    }
  };
  check("bottom", static_cast<int>(bottom.size()), layer.ExactNumBottomBlobs(),
        layer.MinBottomBlobs(), layer.MaxBottomBlobs());
  check("top", static_cast<int>(top.size()), layer.ExactNumTopBlobs(), layer.MinTopBlobs(),
        layer.MaxTopBlobs());
  if (layer.EqualNumBottomTopBlobs() && bottom.size() != top.size()) {
    ThrowError("layer '", layer.name(), "' (", layer.type(), "): reshape needs as many tops as "
               "bottoms, got ", bottom.size(), " and ", top.size());
  }
}

// Net.set_input_arrays: hands the arrays to the MemoryData layer `layer_id`.
// pycaffe.py checks them and keeps them alive (the layer copies from them at
// every forward); the checks here only guard against a crash.
void SetInputArrays(Net& net, int layer_id, const py::array& data, const py::array& labels) {
  if (layer_id < 0 || layer_id >= static_cast<int>(net.layers().size())) {
    ThrowError("set_input_arrays: net '", net.name(), "' has no layer ", layer_id);
  }
  auto* layer = dynamic_cast<MemoryDataLayer*>(net.layers()[layer_id].get());
  if (layer == nullptr) {
    ThrowError("set_input_arrays: layer '", net.layer_names()[layer_id], "' of net '",
               net.name(), "' is not a MemoryData layer");
  }
  const auto c_float = [](const py::array& a) {
    return a.dtype().is(py::dtype::of<float>()) &&
           (a.flags() & py::array::c_style) == py::array::c_style;
  };
  if (!c_float(data) || !c_float(labels) || data.ndim() != 4 || data.shape(0) != labels.size() ||
      data.shape(1) != layer->channels() || data.shape(2) != layer->height() ||
      data.shape(3) != layer->width()) {
    ThrowError("set_input_arrays: layer '", layer->name(), "' wants float32 C-contiguous data of "
               "shape (N, ", layer->channels(), ", ", layer->height(), ", ", layer->width(),
               ") and N labels");
  }
  layer->Reset(static_cast<const float*>(data.data()), static_cast<const float*>(labels.data()),
               static_cast<int>(data.shape(0)));
}

// A Python callable as a C++ hook (solver callbacks, net layer hooks). The
// hook may run with the GIL released (step, forward), so it takes the GIL;
// the callable is released with the GIL held, whichever thread drops the
// last copy of the std::function.
template <typename... Args>
std::function<void(Args...)> PythonHook(py::object fn, const char* what) {
  if (fn.is_none()) return {};
  if (!PyCallable_Check(fn.ptr())) {
    throw py::type_error(StrCat(what, ": callbacks must be callable (or None)"));
  }
  std::shared_ptr<py::object> held(new py::object(std::move(fn)), [](py::object* p) {
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      delete p;
    } else {
      p->release();
      delete p;
    }
  });
  return [held](Args... args) {
    py::gil_scoped_acquire gil;
    (*held)(args...);
  };
}

void AddLayerHook(Net& net, Net::LayerHook when, py::object fn, const char* what) {
  if (fn.is_none()) throw py::type_error(StrCat(what, ": the callback must be callable"));
  net.add_layer_hook(when, PythonHook<int>(std::move(fn), what));
}

// pycaffe's solver.apply_update(): one update from the gradients the script
// computed with net.forward/backward. ApplyUpdate is the update rules' hook,
// protected in Solver (as is param_); reaching them through a derived class
// keeps that so for every other caller.
struct SolverAccess : Solver {
  static void Apply(Solver& s) { (s.*&SolverAccess::ApplyUpdate)(); }
  static caffe::SolverParameter& Param(Solver& s) { return s.*&SolverAccess::param_; }
};

void ApplyUpdate(Solver& solver) { SolverAccess::Apply(solver); }

// pycaffe's solver.param.base_lr = x: the schedule uses it from the next step.
void SetBaseLr(Solver& solver, float base_lr) {
  if (!(base_lr >= 0) || !std::isfinite(base_lr)) {
    ThrowError("solver.param.base_lr must be a finite number >= 0, got ", base_lr);
  }
  SolverAccess::Param(solver).set_base_lr(base_lr);
}

// pycaffe's multi-GPU object: caffe.NCCL(solver, uid) joins the group `uid`
// as replica solver_rank() of solver_count() (set by the script) and makes
// the solver average its gradients over the group.
struct NcclReplica {
  std::unique_ptr<Communicator> comm;
};

}  // namespace
}  // namespace cortado

PYBIND11_MODULE(_cortado, m) {
  using namespace cortado;  // NOLINT: the whole module body is bindings of it
  m.doc() = "Cortado's C++ core; use the `cortado` (or `caffe`) package instead.";
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  m.attr("TRAIN") = static_cast<int>(caffe::TRAIN);
  m.attr("TEST") = static_cast<int>(caffe::TEST);

  m.def("set_random_seed", [](uint64_t seed) { SetRandomSeed(seed); }, "seed"_a);
  m.def("cuda_device_count", &CudaDeviceCount);
  m.def("cuda_unavailable_reason", &CudaUnavailableReason);
  // gpu_id < 0 selects the CPU; errors (no such GPU) raise.
  m.def("set_default_device", [](int gpu_id) {
    const Device device = gpu_id < 0 ? Device::Cpu() : Device::Cuda(gpu_id);
    ActivateDevice(device);
    PythonDevice() = device;
  }, "gpu_id"_a);
  m.def("default_device", []() { return PythonDevice().ToString(); });
  m.def("layer_type_list", &LayerRegistry::Types);
  m.def("log", [](const std::string& message) { LOG(INFO) << message; }, "message"_a);
  // Plugin layers (cortado/plugin.hpp): the module shares libcortado.so, and
  // so the one registry, with any program that embeds it.
  m.def("load_plugin", &LoadPlugin, py::arg("path"),
        "Loads a plugin layer library (.so) and registers its layer types.");
  m.def("load_plugins_from_environment", &LoadPluginsFromEnvironment,
        "Loads the plugins named in CORTADO_PLUGIN_PATH (colon-separated).");
  m.def("loaded_plugins", &LoadedPlugins);
  m.def("layer_origin", &LayerOrigin, py::arg("type"),
        "'built-in' or the path of the plugin that registered the type.");
  m.def("export_onnx",
        [](const Net& net, const std::string& path) { ExportOnnx(net, path); },
        "net"_a, "path"_a,
        "Writes the net (as built: a TEST net for deployment) as an ONNX model, opset 13.");
  m.def("database_size", [](const std::string& path, const std::string& backend) {
    caffe::DataParameter::DB db;
    if (!caffe::DataParameter::DB_Parse(backend, &db)) {
      ThrowError("unknown database backend '", backend, "' (LMDB or LEVELDB)");
    }
    return OpenDatabase(db, path, Database::Mode::kRead)->size();
  }, "path"_a, "backend"_a = "LMDB");

  py::class_<Blob>(m, "Blob")
      .def(py::init([](const std::vector<int>& shape) { return std::make_unique<Blob>(shape); }),
           "shape"_a = std::vector<int>{})
      .def_property_readonly("shape", [](const Blob& b) { return py::tuple(py::cast(b.shape())); })
      .def_property_readonly("count", [](const Blob& b) { return b.count(); })
      .def_property_readonly("num", &Blob::num)
      .def_property_readonly("channels", &Blob::channels)
      .def_property_readonly("height", &Blob::height)
      .def_property_readonly("width", &Blob::width)
      .def_property_readonly("data", [](py::object self) { return BlobArray(self, false); })
      .def_property_readonly("diff", [](py::object self) { return BlobArray(self, true); })
      .def("reshape", [](Blob& b, py::args dims) {
        std::vector<int> shape;
        for (py::handle d : dims) shape.push_back(d.cast<int>());
        b.Reshape(shape);  // errors (too many axes, overflow) raise cortado.Error
      });

  py::class_<Layer>(m, "CppLayer")
      .def_property_readonly("type", [](const Layer& l) { return std::string(l.type()); })
      .def_property_readonly("name", &Layer::name)
      .def_property_readonly("phase", [](const Layer& l) { return static_cast<int>(l.phase()); })
      .def_property_readonly("blobs", [](py::object self) {
        return BorrowedUnique(self.cast<Layer&>().blobs(), self);
      })
      // A Python layer's own attributes and methods (a data layer's
      // set_data, say) read through its wrapper, as on pycaffe's layers;
      // type, blobs, phase and reshape stay the net's.
      .def("__getattr__", [](const Layer& l, const std::string& name) -> py::object {
        py::object python = py::reinterpret_steal<py::object>(PythonLayerObject(l));
        if (python.is_none()) {
          throw py::attribute_error(StrCat("layer '", l.name(), "' (", l.type(),
                                           ") has no attribute '", name, "'"));
        }
        return python.attr(name.c_str());
      })
      // pycaffe's layer.reshape: recomputes the tops' shapes from the bottoms'.
      .def("reshape", [](Layer& l, const BlobVec& bottom, const BlobVec& top) {
        CheckBlobCounts(l, bottom, top);
        l.Reshape(bottom, top);
      }, "bottom"_a, "top"_a);

  // dynamic_attr: set_input_arrays keeps its arrays on the Net object.
  py::class_<Net>(m, "Net", py::dynamic_attr())
      .def(py::init(&MakeNet), "network_file"_a, "phase"_a, "level"_a = 0,
           "stages"_a = std::vector<std::string>{}, "weights"_a = py::none(),
           "fuse"_a = false, "plan_memory"_a = false)
      .def(py::init([](const std::string& model, const std::string& weights, int phase,
                       bool fuse, bool plan_memory) {
             return MakeNet(model, phase, 0, {}, py::str(weights), fuse, plan_memory);
           }),
           "network_file"_a, "weights"_a, "phase"_a, "fuse"_a = false, "plan_memory"_a = false)
      .def("fuse", &Net::set_fuse_inference, "enabled"_a = true)
      .def("plan_memory", &Net::set_plan_memory, "enabled"_a = true)
      .def_property_readonly("memory_planned", &Net::plan_memory)
      .def_property_readonly("memory_plan_bytes", [](const Net& n) {
        const BlobMemoryPlan* plan = n.memory_plan();
        return plan ? py::make_tuple(plan->planned_bytes(), plan->unplanned_bytes)
                    : py::object(py::none());
      })
      .def_property_readonly("fuse_inference", &Net::fuse_inference)
      .def("keep_blobs", &Net::KeepBlobs, "names"_a)
      .def_property_readonly("elided_blobs", &Net::elided_blobs)
      .def_property_readonly("name", &Net::name)
      .def_property_readonly("phase", [](const Net& n) { return static_cast<int>(n.phase()); })
      .def("_forward", &Net::ForwardFromTo, "start"_a, "end"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("_backward", &Net::BackwardFromTo, "start"_a, "end"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("reshape", &Net::Reshape, py::call_guard<py::gil_scoped_release>())
      .def("clear_param_diffs", &Net::ClearParamDiffs)
      .def("copy_from",
           [](Net& n, const std::string& weights) { n.CopyTrainedLayersFrom(weights); },
           "weights"_a)
      .def("share_with", &Net::ShareTrainedLayersWith, "other"_a)
      .def("save", [](const Net& n, const std::string& path) {
        caffe::NetParameter param;
        n.ToProto(&param, false);
        WriteProtoToBinaryFile(param, path);
      }, "filename"_a)
      // Caffe's HDF5 weights: data/<layer>/<i>, whatever the file's name.
      .def("save_hdf5", [](const Net& n, const std::string& path) {
        caffe::NetParameter param;
        n.ToProto(&param, false);
        WriteNetParamToHdf5(param, path);
      }, "filename"_a)
      .def("load_hdf5", [](Net& n, const std::string& path) {
        caffe::NetParameter param;
        ReadNetParamFromHdf5(path, &param);
        n.CopyTrainedLayersFrom(param);
      }, "filename"_a)
      // pycaffe's per-layer hooks: fn(layer_index) around each layer's step.
      .def("before_forward", [](Net& n, py::object fn) {
        AddLayerHook(n, Net::LayerHook::kBeforeForward, fn, "Net.before_forward");
      }, "callback"_a)
      .def("after_forward", [](Net& n, py::object fn) {
        AddLayerHook(n, Net::LayerHook::kAfterForward, fn, "Net.after_forward");
      }, "callback"_a)
      .def("before_backward", [](Net& n, py::object fn) {
        AddLayerHook(n, Net::LayerHook::kBeforeBackward, fn, "Net.before_backward");
      }, "callback"_a)
      .def("after_backward", [](Net& n, py::object fn) {
        AddLayerHook(n, Net::LayerHook::kAfterBackward, fn, "Net.after_backward");
      }, "callback"_a)
      .def("_set_input_arrays", &SetInputArrays, "layer_id"_a, "data"_a, "labels"_a)
      .def_property_readonly("_layer_names", &Net::layer_names)
      .def_property_readonly("_blob_names", &Net::blob_names)
      .def_property_readonly("_blob_loss_weights", &Net::blob_loss_weights)
      .def_property_readonly("_inputs", &Net::input_blob_indices)
      .def_property_readonly("_outputs", &Net::output_blob_indices)
      // As in pycaffe, methods: the blob indices of layer i's bottoms/tops.
      .def("_bottom_ids", [](const Net& n, int i) { return LayerEntry(n, n.bottom_ids(), i); },
           "layer_index"_a)
      .def("_top_ids", [](const Net& n, int i) { return LayerEntry(n, n.top_ids(), i); },
           "layer_index"_a)
      .def_property_readonly("_blobs", [](py::object self) {
        return BorrowedUnique(self.cast<Net&>().blobs(), self);
      })
      .def_property_readonly("layers", [](py::object self) {
        return BorrowedUnique(self.cast<Net&>().layers(), self);
      });

  py::class_<Solver>(m, "Solver")
      .def(py::init(&MakeSolver), "filename"_a, "type"_a = "")
      .def_property_readonly("type", [](const Solver& s) { return std::string(s.type()); })
      .def_property_readonly("iter", &Solver::iter)
      .def_property_readonly("net", [](py::object self) {
        return py::object(Borrowed(std::vector<Net*>{self.cast<Solver&>().net()}, self)[0]);
      })
      .def_property_readonly("test_nets", [](py::object self) {
        return BorrowedUnique(self.cast<Solver&>().test_nets(), self);
      })
      .def_property_readonly("base_lr", [](const Solver& s) { return s.param().base_lr(); })
      .def_property_readonly("_param_bytes",
                             [](const Solver& s) { return py::bytes(s.param().SerializeAsString()); })
      .def("learning_rate", &Solver::GetLearningRate)
      .def("step", &Solver::Step, "iters"_a, py::call_guard<py::gil_scoped_release>())
      .def("solve", [](Solver& s, py::object resume) {
             std::string file = resume.is_none() ? "" : resume.cast<std::string>();
             py::gil_scoped_release release;
             s.Solve(file);
           }, "resume_file"_a = py::none())
      .def("test_all", &Solver::TestAll, py::call_guard<py::gil_scoped_release>())
      .def("restore", &Solver::Restore, "state_file"_a)
      .def("snapshot", &Solver::Snapshot)
      .def("apply_update", &ApplyUpdate, py::call_guard<py::gil_scoped_release>())
      .def("_set_base_lr", &SetBaseLr, "base_lr"_a)
      .def("_add_callback", [](Solver& s, py::object on_start, py::object on_gradients) {
             s.add_callback({PythonHook<>(on_start, "Solver.add_callback"),
                             PythonHook<>(on_gradients, "Solver.add_callback")});
           }, "on_start"_a, "on_gradients"_a)
      .def("_set_replica", [](Solver& s, NcclReplica& replica) {
             s.set_communicator(replica.comm.get());
           }, py::keep_alive<1, 2>())
      .def_property_readonly("_replica_rank", [](const Solver& s) {
        return s.communicator() ? s.communicator()->rank() : 0;
      })
      .def_property_readonly("_replica_count", [](const Solver& s) {
        return s.communicator() ? s.communicator()->size() : 1;
      })
      .def_property_readonly("_gradient_bytes_per_iteration",
                             &Solver::gradient_bytes_per_iteration);

  py::class_<NcclReplica>(m, "_NcclReplica")
      .def(py::init([](py::bytes uid, int rank, int count, int device) {
             return NcclReplica{OpenNcclMember(std::string(uid), rank, count, device)};
           }), "uid"_a, "rank"_a, "count"_a, "device"_a)
      .def_static("new_uid", [] { return py::bytes(NewNcclId()); });
  m.def("nccl_built", &NcclBuilt);
  m.def("mpi_built", &MpiBuilt);
  m.def("mpi_rank", [] {
    Communicator* world = PythonMpiWorld();
    return world ? world->rank() : 0;
  });
  m.def("mpi_size", [] {
    Communicator* world = PythonMpiWorld();
    return world ? world->size() : 1;
  });
}
