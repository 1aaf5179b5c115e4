// The host memory a measurement keeps a task's tensors in (MeasureOnDevice in device.h): the
// standard inputs, and the output the kernel writes, with canary zones around each tensor so
// that a write just outside it is caught and named.
#ifndef FLEETTUNE_RPC_SERVER_HOST_TENSOR_H_
#define FLEETTUNE_RPC_SERVER_HOST_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace fleettune::rpc_server {

// One dense float32 tensor in 64-byte aligned host memory (what generated kernels may
// assume). Not copyable; not thread-safe.
class HostTensor {
 public:
  virtual ~HostTensor() = default;
  virtual float* data() const = 0;
  virtual int64_t elements() const = 0;
  // False when something wrote into the canary zones just outside the tensor.
  virtual bool GuardsIntact() const = 0;
};

// A tensor in plain heap memory between two 4 KiB canary zones, without guard pages: the
// host memory of every device that does not allocate its own (Device::AllocateHostTensor).
// Throws std::bad_alloc when the memory cannot be allocated.
class CanaryTensor : public HostTensor {
 public:
  explicit CanaryTensor(int64_t elements);
  CanaryTensor(const CanaryTensor&) = delete;
  CanaryTensor& operator=(const CanaryTensor&) = delete;

  float* data() const override { return data_; }
  int64_t elements() const override { return elements_; }
  bool GuardsIntact() const override;

 private:
  int64_t elements_;
  std::unique_ptr<unsigned char[]> memory_;
  unsigned char* head_ = nullptr;  // the canary zone before the tensor
  float* data_ = nullptr;
  unsigned char* tail_ = nullptr;  // the canary zone after the tensor
};

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_HOST_TENSOR_H_
