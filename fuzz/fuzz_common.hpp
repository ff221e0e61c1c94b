// What every fuzz target shares: quiet logging, a scratch file for loaders
// that read paths, and a valid seed input the corpus starts from.
#ifndef CORTADO_FUZZ_FUZZ_COMMON_HPP_
#define CORTADO_FUZZ_FUZZ_COMMON_HPP_

#include <cstddef>
#include <cstdint>
#include <string>

namespace cortado {
namespace fuzz {

// Each target defines this: one well-formed input of its kind. Run a target
// with CORTADO_FUZZ_SEED_OUT=path and it writes the seed there and exits
// (bench/fuzz.sh builds the seed corpora that way).
std::string ValidSeed();

// Writes bytes to this process's scratch file and returns its path. The
// loaders under test take paths, as users give them.
const std::string& WriteScratchFile(const uint8_t* data, size_t size,
                                    const std::string& suffix = ".bin");
const std::string& WriteScratchFile(const std::string& bytes,
                                    const std::string& suffix = ".bin");

}  // namespace fuzz
}  // namespace cortado

#endif  // CORTADO_FUZZ_FUZZ_COMMON_HPP_
