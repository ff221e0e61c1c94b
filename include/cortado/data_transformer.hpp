// Turns a Datum into a network input: crop, mirror, mean subtraction, scale.
#ifndef CORTADO_DATA_TRANSFORMER_HPP_
#define CORTADO_DATA_TRANSFORMER_HPP_

#include <cstdint>
#include <random>
#include <vector>

#include "caffe.pb.h"
#include "cortado/blob.hpp"

namespace cortado {

class DataTransformer {
 public:
  DataTransformer(const caffe::TransformationParameter& param,
                  caffe::Phase phase);

  // Shape of one transformed datum (1 x C x H x W, cropped if asked).
  std::vector<int> InferShape(const caffe::Datum& datum) const;
  // Writes one transformed datum at `out` (C*H*W floats). Random crop and
  // mirror happen only in TRAIN; TEST crops the centre.
  void Transform(const caffe::Datum& datum, float* out);

  // The seed the crop/mirror generator got at construction (drawn from
  // GlobalRng()). Reseed leaves it as it is, so a seed derived from it is
  // the same however often it is derived.
  uint32_t seed() const { return seed_; }
  // Restarts the crop/mirror generator from `seed`: data-parallel replicas,
  // built with one random_seed, would otherwise all crop and mirror alike.
  void Reseed(uint32_t seed) { rng_.seed(seed); }

 private:
  caffe::TransformationParameter param_;
  caffe::Phase phase_;
  Blob mean_;  // from mean_file, if any
  std::vector<float> mean_values_;
  uint32_t seed_;
  std::mt19937 rng_;
};

}  // namespace cortado

#endif  // CORTADO_DATA_TRANSFORMER_HPP_
