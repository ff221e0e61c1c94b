// The oneDNN engine and streams; see dnnl_context.hpp.
#include "dnnl_context.hpp"

#include <cstdlib>

#include <glog/logging.h>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cortado/parallel.hpp"

namespace cortado {

// One engine for the process: creating one is not free and it holds no
// per-thread state. Streams are per thread, so nets run from several threads
// (one per device in multi-device training) never share one.
const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine = [] {
    // libgomp's default lets idle threads spin for a while; when other
    // processes keep the cores busy, the spinning costs a scheduler time
    // slice per parallel region (measured on ResNet-50 with 2 cores shared
    // with a build: 1.5-10x slower than with passive waiting). The policy is
    // read before main, so all we can do is say so.
    if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
      LOG(INFO) << "oneDNN primitives run on " << NumThreads()
                << " OpenMP threads; on cores other processes keep busy, "
                   "OMP_WAIT_POLICY=passive keeps them from spinning";
    }
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream = [] {
#if defined(_OPENMP)
    // oneDNN runs its loops on OpenMP; give them the threads the rest of
    // Cortado uses (CORTADO_NUM_THREADS), not OpenMP's own default. The
    // setting is per calling thread, hence here.
    omp_set_num_threads(NumThreads());
#endif
    return dnnl::stream(CpuEngine());
  }();
  return stream;
}

}  // namespace cortado
