// Device: where a net, layer or blob computes — the CPU or one CUDA GPU. A
// net hands its device to each layer; nothing reads a global mode.
#ifndef CORTADO_DEVICE_HPP_
#define CORTADO_DEVICE_HPP_

#include <string>

namespace cortado {

class Device {
 public:
  enum class Kind { kCpu, kCuda };

  static Device Cpu() { return Device(Kind::kCpu, 0); }
  static Device Cuda(int id) { return Device(Kind::kCuda, id); }
  Device() = default;

  Kind kind() const { return kind_; }
  int id() const { return id_; }
  bool is_cuda() const { return kind_ == Kind::kCuda; }
  std::string ToString() const;  // "CPU" or "GPU 0"

  bool operator==(const Device& other) const {
    return kind_ == other.kind_ && id_ == other.id_;
  }
  bool operator!=(const Device& other) const { return !(*this == other); }

 private:
  Device(Kind kind, int id) : kind_(kind), id_(id) {}
  Kind kind_ = Kind::kCpu;
  int id_ = 0;
};

// True when this build has the CUDA backend compiled in.
bool CudaBuilt();
// GPUs usable now. 0 in CPU-only builds and when the CUDA driver is missing
// or too old ("driver version is insufficient"): that is no GPU, not a crash.
int CudaDeviceCount();
// Why CudaDeviceCount() is 0, for messages ("this build has no CUDA", the
// driver's error text); empty when GPUs are present.
std::string CudaUnavailableReason();
// Makes `device` current on this thread; throws Error naming the id and the
// count when it does not exist. A CPU device is a no-op.
void ActivateDevice(const Device& device);
// Waits until the device has finished its queued work (for timing).
void SynchronizeDevice(const Device& device);
// The device_query report: name, compute capability, memory, SMs, clocks.
std::string DescribeCudaDevice(int id);

}  // namespace cortado

#endif  // CORTADO_DEVICE_HPP_
