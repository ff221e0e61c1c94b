// Writes the deploy prototxt of a bottleneck ResNet (He et al. 2015, the
// MSRA Caffe layout: Convolution without bias but conv1, BatchNorm and Scale in place,
// stride on the first 1x1 of a stage) with any block counts per stage:
// {3, 4, 6, 3} is ResNet-50, {3, 8, 36, 3} ResNet-152.
#ifndef CORTADO_TESTS_RESNET_PROTOTXT_HPP_
#define CORTADO_TESTS_RESNET_PROTOTXT_HPP_

#include <string>
#include <vector>

namespace cortado {
namespace testing {

inline std::string ResNetPrototxt(const std::string& name, const std::vector<int>& blocks,
                                  int batch) {
  std::string text = "name: \"" + name + "\"\n";
  text += "layer { name: \"data\" type: \"Input\" top: \"data\" input_param { shape { dim: " +
          std::to_string(batch) + " dim: 3 dim: 224 dim: 224 } } }\n";
  // Convolution + BatchNorm + Scale (+ ReLU), all in place after the conv.
  auto conv_bn = [&text](const std::string& conv, const std::string& bn,
                         const std::string& bottom, int outputs, int kernel, int stride,
                         bool relu, bool bias = false) {
    text += "layer { name: \"" + conv + "\" type: \"Convolution\" bottom: \"" + bottom +
            "\" top: \"" + conv + "\" convolution_param { num_output: " +
            std::to_string(outputs) + " kernel_size: " + std::to_string(kernel) +
            " pad: " + std::to_string(kernel / 2) + " stride: " + std::to_string(stride) +
            (bias ? "" : " bias_term: false") + " } }\n";
    text += "layer { name: \"bn" + bn + "\" type: \"BatchNorm\" bottom: \"" + conv +
            "\" top: \"" + conv + "\" batch_norm_param { use_global_stats: true } }\n";
    text += "layer { name: \"scale" + bn + "\" type: \"Scale\" bottom: \"" + conv + "\" top: \"" +
            conv + "\" scale_param { bias_term: true } }\n";
    if (relu) {
      text += "layer { name: \"" + conv + "_relu\" type: \"ReLU\" bottom: \"" + conv +
              "\" top: \"" + conv + "\" }\n";
    }
  };
  conv_bn("conv1", "_conv1", "data", 64, 7, 2, true, /*bias=*/true);
  text += "layer { name: \"pool1\" type: \"Pooling\" bottom: \"conv1\" top: \"pool1\" "
          "pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n";
  std::string previous = "pool1";
  for (size_t stage = 0; stage < blocks.size(); ++stage) {
    const int width = 64 << stage;
    for (int b = 0; b < blocks[stage]; ++b) {
      // Blocks are a, b, c... and, past 26 (ResNet-152), b1, b2...
      const std::string suffix =
          blocks[stage] > 26 && b > 0 ? "b" + std::to_string(b) : std::string(1, 'a' + b);
      const std::string id = std::to_string(stage + 2) + suffix;
      const int stride = (b == 0 && stage > 0) ? 2 : 1;
      std::string shortcut = previous;
      if (b == 0) {
        conv_bn("res" + id + "_branch1", id + "_branch1", previous, 4 * width, 1, stride, false);
        shortcut = "res" + id + "_branch1";
      }
      conv_bn("res" + id + "_branch2a", id + "_branch2a", previous, width, 1, stride, true);
      conv_bn("res" + id + "_branch2b", id + "_branch2b", "res" + id + "_branch2a", width, 3, 1,
              true);
      conv_bn("res" + id + "_branch2c", id + "_branch2c", "res" + id + "_branch2b", 4 * width, 1,
              1, false);
      text += "layer { name: \"res" + id + "\" type: \"Eltwise\" bottom: \"" + shortcut +
              "\" bottom: \"res" + id + "_branch2c\" top: \"res" + id + "\" }\n";
      text += "layer { name: \"res" + id + "_relu\" type: \"ReLU\" bottom: \"res" + id +
              "\" top: \"res" + id + "\" }\n";
      previous = "res" + id;
    }
  }
  text += "layer { name: \"pool5\" type: \"Pooling\" bottom: \"" + previous +
          "\" top: \"pool5\" pooling_param { pool: AVE kernel_size: 7 stride: 1 } }\n";
  text += "layer { name: \"fc1000\" type: \"InnerProduct\" bottom: \"pool5\" top: \"fc1000\" "
          "inner_product_param { num_output: 1000 } }\n";
  text += "layer { name: \"prob\" type: \"Softmax\" bottom: \"fc1000\" top: \"prob\" }\n";
  return text;
}

}  // namespace testing
}  // namespace cortado

#endif  // CORTADO_TESTS_RESNET_PROTOTXT_HPP_
