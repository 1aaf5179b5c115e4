// The host memory a CPU measurement runs a kernel on: tensors fenced by canary zones and
// guard pages, and the deterministic standard inputs every board fills them with.
#ifndef FLEETTUNE_RPC_SERVER_TENSOR_BUFFER_H_
#define FLEETTUNE_RPC_SERVER_TENSOR_BUFFER_H_

#include <cstddef>
#include <cstdint>

#include "rpc_server/host_tensor.h"

namespace fleettune::rpc_server {

// A dense float32 tensor in 64-byte aligned memory (what generated kernels may assume),
// between two canary zones, each followed by inaccessible guard pages:
//
//   [guard: no access, 1 MiB][canary, 4 KiB][tensor][canary, 4 KiB or more][guard, 1 MiB]
//
// A kernel that writes a little past either end of a tensor is caught by the canaries
// (GuardsIntact), one that writes further hits a guard page and crashes its sandbox worker
// (SIGSEGV), instead of silently corrupting memory the runtime uses. The guard pages are
// address space only: they cost no memory and do not count against RLIMIT_DATA. Throws
// std::bad_alloc when the memory cannot be mapped. Not copyable; not thread-safe. The host
// tensors of CpuDevice (cpu_device.h).
class TensorBuffer : public HostTensor {
 public:
  // `index` names the tensor (its place in the op's order) to FindGuardPageHit.
  TensorBuffer(int64_t elements, int index);
  ~TensorBuffer() override;
  TensorBuffer(const TensorBuffer&) = delete;
  TensorBuffer& operator=(const TensorBuffer&) = delete;

  float* data() const override { return data_; }
  int64_t elements() const override { return elements_; }

  // False when something wrote into the canary zones around the tensor.
  bool GuardsIntact() const override;

 private:
  int64_t elements_;
  unsigned char* mapping_ = nullptr;  // guards included
  size_t mapping_bytes_ = 0;
  unsigned char* usable_ = nullptr;  // the canary zones and the tensor
  float* data_ = nullptr;
  unsigned char* tail_ = nullptr;  // the canary zone after the tensor
  size_t tail_bytes_ = 0;
  int guard_slot_ = -1;  // in FindGuardPageHit's table
};

// Which live TensorBuffer's guard pages `address` lies in: true, with the tensor's index and
// the distance in bytes from the tensor (negative: before its start; positive: past its
// end). Async-signal-safe (for a SIGSEGV handler): it only reads a fixed table that
// TensorBuffers enter on construction and leave on destruction, on one thread.
bool FindGuardPageHit(const void* address, int* index, int64_t* offset);

// Fills `data` with uniform [-1, 1] values from `seed` (splitmix64): the same on every board.
void FillRandom(float* data, int64_t elements, uint64_t seed);

// Whether `data` still holds, bit for bit, what FillRandom(data, elements, seed) wrote.
bool StillRandom(const float* data, int64_t elements, uint64_t seed);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_TENSOR_BUFFER_H_
