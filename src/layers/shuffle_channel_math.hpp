// ShuffleChannel's index map, shared by the CPU loop and the CUDA kernel.
#ifndef CORTADO_LAYERS_SHUFFLE_CHANNEL_MATH_HPP_
#define CORTADO_LAYERS_SHUFFLE_CHANNEL_MATH_HPP_

#include "cortado/host_device.hpp"

namespace cortado {

// The channels viewed as a groups x (channels / groups) matrix, transposed:
// output channel i * groups + g is input channel g * (channels / groups) + i.
CORTADO_HD inline int ShuffleSourceChannel(int out_channel, int channels, int groups) {
  return (out_channel % groups) * (channels / groups) + out_channel / groups;
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_SHUFFLE_CHANNEL_MATH_HPP_
