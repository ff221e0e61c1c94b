// Builds without MPI: data-parallel training across processes is refused
// with a message that says how to get it.
#include <cstdio>
#include <cstdlib>

#include "cortado/common.hpp"
#include "cortado/communicator.hpp"

namespace cortado {

bool MpiBuilt() { return false; }

std::unique_ptr<Communicator> OpenMpiWorld() {
  ThrowError("this Cortado was built without MPI: install libopenmpi-dev and openmpi-bin, "
             "then reconfigure with CMake (it reports \"Cortado MPI: ON\")");
}

void AbortMpiJob(const std::string& message) {
  std::fprintf(stderr, "cortado: error: %s\n", message.c_str());
  std::exit(1);
}

void FinalizeMpi() {}

}  // namespace cortado
