// Times the MPI communicator's allreduce on this machine's ranks (loopback
// when they share a host): median of several sums per buffer size, as the
// bandwidth the scaling model in docs/scaling.md starts from.
//   mpirun -np 2 build/allreduce_bench
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "cortado/communicator.hpp"

int main() {
  std::unique_ptr<cortado::Communicator> world = cortado::OpenMpiWorld();
  const int size = world->size();
  if (world->rank() == 0) {
    std::printf("allreduce over %d rank(s): median of 9 sums per size\n", size);
    std::printf("%12s %12s %14s %14s\n", "bytes", "ms", "algo GB/s", "bus GB/s");
  }
  for (int64_t bytes = 4 << 10; bytes <= int64_t{256} << 20; bytes *= 2) {
    std::vector<float> buffer(bytes / 4, 1.f);
    std::vector<double> seconds;
    for (int run = 0; run < 10; ++run) {
      double ready = 0;
      world->AllreduceSumHost(&ready, 1);  // start together
      const auto start = std::chrono::steady_clock::now();
      world->StartAllreduceSum(buffer.data(), static_cast<int64_t>(buffer.size()));
      world->WaitAll();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (run > 0) seconds.push_back(s);  // the first run warms up
    }
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    // Bus bandwidth: what each link carries in a ring, 2(N-1)/N of the buffer.
    const double algo = bytes / median / 1e9;
    const double bus = algo * 2.0 * (size - 1) / size;
    if (world->rank() == 0) {
      std::printf("%12lld %12.3f %14.2f %14.2f\n", static_cast<long long>(bytes), median * 1e3,
                  algo, bus);
    }
  }
  world.reset();
  cortado::FinalizeMpi();
  return 0;
}
