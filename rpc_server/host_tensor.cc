#include "rpc_server/host_tensor.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace fleettune::rpc_server {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kCanaryBytes = 4096;
constexpr unsigned char kCanary = 0xA5;
static_assert(kCanaryBytes % kAlignment == 0, "the canary zone keeps tensors aligned");

bool Intact(const unsigned char* begin, size_t size) {
  return std::all_of(begin, begin + size, [](unsigned char c) { return c == kCanary; });
}

}  // namespace

CanaryTensor::CanaryTensor(int64_t elements) : elements_(elements) {
  const size_t data_bytes = static_cast<size_t>(elements) * sizeof(float);
  memory_.reset(new unsigned char[kAlignment + kCanaryBytes + data_bytes + kCanaryBytes]);
  const auto start = reinterpret_cast<uintptr_t>(memory_.get());
  head_ = memory_.get() + (kAlignment - start % kAlignment) % kAlignment;
  data_ = reinterpret_cast<float*>(head_ + kCanaryBytes);
  tail_ = head_ + kCanaryBytes + data_bytes;
  std::memset(head_, kCanary, kCanaryBytes);
  std::memset(tail_, kCanary, kCanaryBytes);
}

bool CanaryTensor::GuardsIntact() const {
  return Intact(head_, kCanaryBytes) && Intact(tail_, kCanaryBytes);
}

}  // namespace fleettune::rpc_server
