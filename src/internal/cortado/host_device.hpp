// CORTADO_HD marks small functions compiled both for the host (g++) and, in
// .cu files, for the device: an element-wise formula is written once and
// used by a layer's CPU loop and its CUDA kernel alike.
#ifndef CORTADO_HOST_DEVICE_HPP_
#define CORTADO_HOST_DEVICE_HPP_

#ifdef __CUDACC__
#define CORTADO_HD __host__ __device__
#else
#define CORTADO_HD
#endif

#endif  // CORTADO_HOST_DEVICE_HPP_
