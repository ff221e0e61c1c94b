// Whether mpirun started this process: read from the launcher's environment,
// so that builds without MPI can tell too.
#include <cstdlib>

#include "cortado/communicator.hpp"

namespace cortado {

int MpiLaunchSize() {
  // OpenMPI's mpirun, then the PMI variables of MPICH's and Slurm's launchers.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    const char* value = std::getenv(name);
    if (value == nullptr) continue;
    const int size = std::atoi(value);
    if (size > 0) return size;
  }
  return 1;
}

}  // namespace cortado
