#include "rpc_server/tensor_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace fleettune::rpc_server {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kCanaryBytes = 4096;
constexpr size_t kGuardBytes = size_t{1} << 20;
constexpr unsigned char kCanary = 0xA5;
static_assert(kCanaryBytes % kAlignment == 0, "the canary zone keeps tensors aligned");

size_t RoundUp(size_t bytes, size_t unit) { return (bytes + unit - 1) / unit * unit; }

bool Intact(const unsigned char* begin, size_t size) {
  return std::all_of(begin, begin + size, [](unsigned char c) { return c == kCanary; });
}

// splitmix64, scaled to [-1, 1].
class StandardInputs {
 public:
  explicit StandardInputs(uint64_t seed) : state_(seed) {}
  float Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<float>((z >> 40) * (2.0 / (1 << 24)) - 1.0);
  }

 private:
  uint64_t state_;
};

}  // namespace

TensorBuffer::TensorBuffer(int64_t elements) : elements_(elements) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t data_bytes = static_cast<size_t>(elements) * sizeof(float);
  const size_t usable = RoundUp(kCanaryBytes + data_bytes + kCanaryBytes, page);
  mapping_bytes_ = kGuardBytes + usable + kGuardBytes;
  void* mapping = mmap(nullptr, mapping_bytes_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) throw std::bad_alloc();
  mapping_ = static_cast<unsigned char*>(mapping);
  usable_ = mapping_ + kGuardBytes;
  if (mprotect(usable_, usable, PROT_READ | PROT_WRITE) != 0) {
    munmap(mapping_, mapping_bytes_);
    throw std::bad_alloc();
  }
  data_ = reinterpret_cast<float*>(usable_ + kCanaryBytes);
  tail_ = usable_ + kCanaryBytes + data_bytes;
  tail_bytes_ = usable - kCanaryBytes - data_bytes;
  std::memset(usable_, kCanary, kCanaryBytes);
  std::memset(tail_, kCanary, tail_bytes_);
}

TensorBuffer::~TensorBuffer() { munmap(mapping_, mapping_bytes_); }

bool TensorBuffer::GuardsIntact() const {
  return Intact(usable_, kCanaryBytes) && Intact(tail_, tail_bytes_);
}

void FillRandom(float* data, int64_t elements, uint64_t seed) {
  StandardInputs inputs(seed);
  for (int64_t i = 0; i < elements; ++i) data[i] = inputs.Next();
}

bool StillRandom(const float* data, int64_t elements, uint64_t seed) {
  StandardInputs inputs(seed);
  for (int64_t i = 0; i < elements; ++i) {
    const float expected = inputs.Next();
    if (std::memcmp(&data[i], &expected, sizeof(float)) != 0) return false;
  }
  return true;
}

}  // namespace fleettune::rpc_server
