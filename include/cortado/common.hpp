// Shared basics: the error type every user-facing failure throws, and small helpers.
#ifndef CORTADO_COMMON_HPP_
#define CORTADO_COMMON_HPP_

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <glog/logging.h>

namespace cortado {

// A problem with the user's input (a file, a prototxt, a shape). The CLI
// prints what() and exits non-zero; CHECK stays for programmer errors.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates anything streamable: StrCat("layer ", name, " has ", n, " tops").
template <typename... Args>
std::string StrCat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
[[noreturn]] void ThrowError(Args&&... args) {
  throw Error(StrCat(std::forward<Args>(args)...));
}

// Deleted copy for classes that own buffers or threads.
#define CORTADO_DISALLOW_COPY(Class) \
  Class(const Class&) = delete;      \
  Class& operator=(const Class&) = delete

}  // namespace cortado

#endif  // CORTADO_COMMON_HPP_
