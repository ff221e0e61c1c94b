// Table rows and error checks for the Tile layer.
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::function<void(Layer*, const BlobVec&, const BlobVec&)> TileReference(int axis,
                                                                           int tiles) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    std::vector<int> shape = in.shape();
    shape[axis] *= tiles;
    ASSERT_EQ(shape, top[0]->shape());
    // Top position (o, t, r) with r inside one block of count(axis) values.
    std::vector<float> expected;
    const int64_t block = in.count(axis);
    for (int64_t o = 0; o < in.count(0, axis); ++o) {
      for (int t = 0; t < tiles; ++t) {
        for (int64_t r = 0; r < block; ++r) expected.push_back(in.cpu_data()[o * block + r]);
      }
    }
    ExpectBlobNear(expected, *top[0], 0);
  };
}

LayerCase TileCase(const std::string& name, const std::string& params, std::vector<int> shape,
                   int axis, int tiles) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'tile' type: 'Tile' tile_param { " + params + " }";
  c.bottom_shapes = {shape};
  c.reference = TileReference(axis, tiles);
  return c;
}

std::vector<LayerCase> TileCases() {
  return {
      TileCase("Channels", "tiles: 3", {2, 3, 2, 2}, 1, 3),
      TileCase("Axis0", "axis: 0 tiles: 2", {2, 3, 2}, 0, 2),
      TileCase("LastAxis", "axis: -1 tiles: 4", {2, 3, 2}, 2, 4),
      TileCase("OneTile", "axis: 2 tiles: 1", {2, 3, 2}, 2, 1),
  };
}

INSTANTIATE_TEST_SUITE_P(Tile, LayerCaseTest, ::testing::ValuesIn(TileCases()), LayerCaseName);

TEST(TileLayerTest, BadParametersThrow) {
  Blob x({2, 3}), y;
  for (const char* params : {"tiles: 0", "tiles: -2", "axis: 2 tiles: 2"}) {
    auto layer = MakeLayer(std::string("name: 't' type: 'Tile' tile_param { ") + params + " }");
    EXPECT_THROW(layer->SetUp({&x}, {&y}), Error) << params;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
