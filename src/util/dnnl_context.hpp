// The process's oneDNN CPU engine and each thread's stream, shared by the
// oneDNN convolution engine and the oneDNN matrix products. Builds with
// oneDNN only.
#ifndef CORTADO_SRC_UTIL_DNNL_CONTEXT_HPP_
#define CORTADO_SRC_UTIL_DNNL_CONTEXT_HPP_

#ifdef CORTADO_WITH_DNNL

#include <oneapi/dnnl/dnnl.hpp>

namespace cortado {

// One engine for the process.
const dnnl::engine& CpuEngine();
// The calling thread's stream; its first use sets the thread's OpenMP team
// to Cortado's thread count, which oneDNN's loops then use.
dnnl::stream& ThreadStream();

}  // namespace cortado

#endif  // CORTADO_WITH_DNNL

#endif  // CORTADO_SRC_UTIL_DNNL_CONTEXT_HPP_
