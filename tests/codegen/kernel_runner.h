// Test helpers: random inputs, a naive matmul reference and the error between results.
#ifndef FLEETTUNE_TESTS_CODEGEN_KERNEL_RUNNER_H_
#define FLEETTUNE_TESTS_CODEGEN_KERNEL_RUNNER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen::testing {

// C = A * B, row-major, accumulated in double.
void NaiveMatmul(const std::vector<float>& a, const std::vector<float>& b, std::vector<float>* c,
                 int64_t m, int64_t n, int64_t k);

// The largest |x - y| / max(1, |y|) over the elements.
double MaxRelativeError(const std::vector<float>& x, const std::vector<float>& y);

std::vector<float> RandomVector(size_t size, uint32_t seed);

// Buffers for a kernel's tensors in ABI order: inputs random (seeds `seed`, `seed` + 1, ...),
// the output NaN, so an element the kernel never writes fails the comparison.
std::vector<std::vector<float>> KernelBuffers(const std::vector<v1::TensorSpec>& tensors,
                                              uint32_t seed);

// Targets the property tests build for: the host with one and three threads, and AVX2 code
// (8 lanes, 16 vector registers) where this CPU runs it, so the narrower vector paths are
// checked too.
std::vector<std::string> PropertyTestTargets();

}  // namespace fleettune::codegen::testing

#endif  // FLEETTUNE_TESTS_CODEGEN_KERNEL_RUNNER_H_
