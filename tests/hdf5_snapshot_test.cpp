// HDF5 snapshots: Caffe's dataset layout, bit-exact resume, loading weights
// from .h5, and clear errors for files that are not what they claim.
#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/hdf5.hpp"
#include "cortado/io.hpp"
#include "cortado/solver.hpp"
#include "solver_fixtures.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using namespace cortado::testing;  // NOLINT: the shared solver fixtures

caffe::SolverParameter Hdf5Solver(const std::string& source, const std::string& prefix) {
  caffe::SolverParameter param = LmdbSolver(source, prefix);
  param.set_snapshot_format(caffe::SolverParameter::HDF5);
  return param;
}

// Shape of a dataset ("a/b/c"), read straight through the HDF5 C API;
// {-1} if the file or any link on the way is missing.
std::vector<int> DatasetDims(const std::string& file, const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return {-1};
  for (size_t end = name.find('/'); ; end = name.find('/', end + 1)) {
    if (H5Lexists(f, name.substr(0, end).c_str(), H5P_DEFAULT) <= 0) {
      H5Fclose(f);
      return {-1};
    }
    if (end == std::string::npos) break;
  }
  hid_t d = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
  hid_t space = H5Dget_space(d);
  std::vector<hsize_t> dims(H5Sget_simple_extent_ndims(space));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
  return std::vector<int>(dims.begin(), dims.end());
}

TEST(Hdf5SnapshotTest, FilesUseCaffesDatasetLayout) {
  TempDir dir;
  const std::string source = dir.File("lmdb");
  MakeDataset(source);
  auto solver = CreateSolver(Hdf5Solver(source, dir.File("run")));
  solver->Step(2);
  const std::string model = solver->Snapshot();
  EXPECT_EQ(model, dir.File("run_iter_2.caffemodel.h5"));
  EXPECT_EQ(DatasetDims(model, "data/ip1/0"), (std::vector<int>{5, 16}));
  EXPECT_EQ(DatasetDims(model, "data/ip1/1"), (std::vector<int>{5}));
  EXPECT_EQ(DatasetDims(model, "data/ip2/0"), (std::vector<int>{3, 5}));
  EXPECT_EQ(DatasetDims(model, "diff/ip1/0"), (std::vector<int>{-1}));  // no snapshot_diff
  const std::string state = dir.File("run_iter_2.solverstate.h5");
  EXPECT_EQ(DatasetDims(state, "iter"), (std::vector<int>{1}));
  EXPECT_EQ(DatasetDims(state, "current_step"), (std::vector<int>{1}));
  EXPECT_EQ(DatasetDims(state, "history/0"), (std::vector<int>{5, 16}));
  EXPECT_EQ(DatasetDims(state, "history/3"), (std::vector<int>{3}));
  EXPECT_FALSE(FileExists(model + ".tmp"));
  EXPECT_FALSE(FileExists(state + ".tmp"));

  caffe::SolverState read;
  ReadSolverStateFromHdf5(state, &read);
  EXPECT_EQ(read.iter(), 2);
  EXPECT_EQ(read.learned_net(), model);
  EXPECT_EQ(read.history_size(), 4);
  ASSERT_EQ(read.data_records_consumed_size(), 1);
  EXPECT_EQ(read.data_records_consumed(0), 6);  // two batches of 3
}

TEST(Hdf5SnapshotTest, SnapshotDiffWritesTheDiffGroup) {
  TempDir dir;
  const std::string source = dir.File("lmdb");
  MakeDataset(source);
  caffe::SolverParameter param = Hdf5Solver(source, dir.File("run"));
  param.set_snapshot_diff(true);
  auto solver = CreateSolver(param);
  solver->Step(1);
  EXPECT_EQ(DatasetDims(solver->Snapshot(), "diff/ip2/0"), (std::vector<int>{3, 5}));
}

TEST(Hdf5SnapshotTest, ResumeFromHdf5IsBitExact) {
  TempDir dir;
  const std::string source = dir.File("lmdb");
  MakeDataset(source);
  for (const char* type : {"SGD", "Adam"}) {
    auto make = [&](const std::string& prefix, int seed) {
      caffe::SolverParameter param = Hdf5Solver(source, prefix);
      param.set_type(type);
      param.set_random_seed(seed);
      return CreateSolver(param);
    };
    auto straight = make(dir.File("straight"), 11);
    straight->Step(10);
    {
      auto first = make(dir.File("run"), 11);
      first->Step(4);
      first->Snapshot();
    }
    auto resumed = make(dir.File("run"), 999);
    resumed->Restore(dir.File("run_iter_4.solverstate.h5"));
    EXPECT_EQ(resumed->iter(), 4);
    resumed->Step(6);
    const std::vector<float> expected = AllWeights(straight->net());
    const std::vector<float> actual = AllWeights(resumed->net());
    ASSERT_EQ(actual.size(), expected.size());
    EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0)
        << type;
  }
}

TEST(Hdf5SnapshotTest, NetLoadsWeightsFromEitherFormat) {
  TempDir dir;
  const std::string source = dir.File("lmdb");
  MakeDataset(source);
  auto trained = CreateSolver(Hdf5Solver(source, dir.File("h5")));
  trained->Step(3);
  const std::string h5 = trained->Snapshot();
  caffe::SolverParameter binary_param = LmdbSolver(source, dir.File("pb"));
  auto binary = CreateSolver(binary_param);
  binary->Step(2);
  const std::string pb = binary->Snapshot();
  for (const auto& [path, source_net] : {std::pair{h5, trained->net()}, {pb, binary->net()}}) {
    caffe::SolverParameter fresh_param = LmdbSolver(source, dir.File("fresh"));
    fresh_param.set_random_seed(1234);
    auto fresh = CreateSolver(fresh_param);
    ASSERT_NE(AllWeights(fresh->net()), AllWeights(source_net));
    fresh->net()->CopyTrainedLayersFrom(path);
    EXPECT_EQ(AllWeights(fresh->net()), AllWeights(source_net)) << path;
  }
}

TEST(Hdf5SnapshotTest, BadFilesAreClearErrors) {
  TempDir dir;
  const std::string fake = dir.File("fake.caffemodel.h5");
  WriteFileAtomically(fake, "not hdf5 at all");
  caffe::NetParameter param;
  try {
    ReadNetParamFromHdf5(fake, &param);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not an HDF5 file"), std::string::npos) << e.what();
  }
  caffe::SolverState state;
  EXPECT_THROW(ReadSolverStateFromHdf5(dir.File("missing.solverstate.h5"), &state), Error);
  // A model file is not a solver state: 'iter' is missing.
  caffe::NetParameter empty;
  empty.add_layer()->set_name("x");
  WriteNetParamToHdf5(empty, dir.File("m.h5"));
  try {
    ReadSolverStateFromHdf5(dir.File("m.h5"), &state);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'iter' is missing"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(IsHdf5Path("a.caffemodel.h5"));
  EXPECT_FALSE(IsHdf5Path("a.caffemodel"));
}

}  // namespace
}  // namespace cortado
