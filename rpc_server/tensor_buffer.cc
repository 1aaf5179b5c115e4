#include "rpc_server/tensor_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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

// The guard pages of the live TensorBuffers, for FindGuardPageHit. A fixed table of plain
// words, so that a signal handler may read it; a slot is free when its `index` is -1.
struct GuardSlot {
  std::atomic<int> index{-1};
  std::atomic<uintptr_t> mapping_begin{0};  // the first guard starts here
  std::atomic<uintptr_t> data_begin{0};
  std::atomic<uintptr_t> data_end{0};
  std::atomic<uintptr_t> mapping_end{0};  // the second guard ends here
};
constexpr int kGuardSlots = 256;
GuardSlot guard_slots[kGuardSlots];

// The slot a new buffer takes, or -1 when all are taken (the buffer then goes unnamed).
int EnterGuardTable(int index, uintptr_t mapping_begin, uintptr_t data_begin, uintptr_t data_end,
                    uintptr_t mapping_end) {
  for (int slot = 0; slot < kGuardSlots; ++slot) {
    GuardSlot& entry = guard_slots[slot];
    if (entry.index.load() != -1) continue;
    entry.mapping_begin = mapping_begin;
    entry.data_begin = data_begin;
    entry.data_end = data_end;
    entry.mapping_end = mapping_end;
    entry.index = index;  // last: the slot is complete when it is visible
    return slot;
  }
  return -1;
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

TensorBuffer::TensorBuffer(int64_t elements, int index) : elements_(elements) {
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
  if (index >= 0) {
    const auto begin = reinterpret_cast<uintptr_t>(mapping_);
    guard_slot_ = EnterGuardTable(index, begin, reinterpret_cast<uintptr_t>(data_),
                                  reinterpret_cast<uintptr_t>(tail_), begin + mapping_bytes_);
  }
}

TensorBuffer::~TensorBuffer() {
  if (guard_slot_ >= 0) guard_slots[guard_slot_].index = -1;
  munmap(mapping_, mapping_bytes_);
}

bool TensorBuffer::GuardsIntact() const {
  return Intact(usable_, kCanaryBytes) && Intact(tail_, tail_bytes_);
}

bool FindGuardPageHit(const void* address, int* index, int64_t* offset) {
  const auto at = reinterpret_cast<uintptr_t>(address);
  for (const GuardSlot& entry : guard_slots) {
    const int tensor = entry.index.load();
    if (tensor < 0 || at < entry.mapping_begin.load() || at >= entry.mapping_end.load()) continue;
    const uintptr_t data_begin = entry.data_begin.load();
    const uintptr_t data_end = entry.data_end.load();
    if (at >= data_begin && at < data_end) continue;  // inside the tensor: not a guard hit
    *index = tensor;
    *offset = at < data_begin ? -static_cast<int64_t>(data_begin - at)
                              : static_cast<int64_t>(at - data_end);
    return true;
  }
  return false;
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
