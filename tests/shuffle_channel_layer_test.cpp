// Table rows and error checks for the ShuffleChannel layer.
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

LayerCase ShuffleCase(const std::string& name, int group, std::vector<int> shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'shuffle' type: 'ShuffleChannel' shuffle_channel_param { group: " +
               std::to_string(group) + " }";
  c.bottom_shapes = {shape};
  c.reference = [group](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    ASSERT_EQ(in.shape(), top[0]->shape());
    const int channels = in.shape(1);
    const int per_group = channels / group;
    const int64_t inner = in.count(2);
    std::vector<float> expected;
    for (int n = 0; n < in.shape(0); ++n) {
      for (int c = 0; c < channels; ++c) {
        // Top channel c reads group c % group, member c / group.
        const int source = (c % group) * per_group + c / group;
        for (int64_t s = 0; s < inner; ++s) {
          expected.push_back(in.cpu_data()[(n * channels + source) * inner + s]);
        }
      }
    }
    ExpectBlobNear(expected, *top[0], 0);
  };
  return c;
}

std::vector<LayerCase> ShuffleChannelCases() {
  return {
      ShuffleCase("TwoGroups", 2, {2, 6, 2, 3}),
      ShuffleCase("ThreeGroups", 3, {1, 6, 3, 2}),
      ShuffleCase("OneGroup", 1, {2, 4, 2, 2}),
      ShuffleCase("Flat", 4, {3, 8}),
  };
}

INSTANTIATE_TEST_SUITE_P(ShuffleChannel, LayerCaseTest, ::testing::ValuesIn(ShuffleChannelCases()),
                         LayerCaseName);

TEST(ShuffleChannelLayerTest, KnownOrder) {
  Blob x({1, 6, 1, 1}), y;
  for (int c = 0; c < 6; ++c) x.mutable_cpu_data()[c] = static_cast<float>(c);
  auto layer = MakeLayer("name: 's' type: 'ShuffleChannel' shuffle_channel_param { group: 2 }");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  ExpectBlobNear({0, 3, 1, 4, 2, 5}, y, 0);
}

TEST(ShuffleChannelLayerTest, BadGroupThrows) {
  Blob x({2, 6, 2, 2}), y;
  for (const char* group : {"0", "4"}) {
    auto layer = MakeLayer(std::string("name: 's' type: 'ShuffleChannel' "
                                       "shuffle_channel_param { group: ") +
                           group + " }");
    EXPECT_THROW(layer->SetUp({&x}, {&y}), Error) << group;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
