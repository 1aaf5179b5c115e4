// A 2-D convolution's geometry (batch n, NCHW input, KCRS weights, square stride and
// symmetric zero padding) and the workload string fleettune names it by (docs/architecture.md,
// "Workload string").
#ifndef FLEETTUNE_TESTS_BENCH_CONV_SHAPE_H_
#define FLEETTUNE_TESTS_BENCH_CONV_SHAPE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace fleettune::bench {

struct ConvShape {
  int64_t n = 1, c = 0, h = 0, w = 0, k = 0, r = 0, s = 0, stride = 1, pad = 0;
  // Channel groups: 1 is a full convolution, c == k == groups a depthwise one (weights
  // [k, c / groups, r, s]).
  int64_t groups = 1;

  int64_t oh() const { return (h + 2 * pad - r) / stride + 1; }
  int64_t ow() const { return (w + 2 * pad - s) / stride + 1; }
  // 2*n*k*oh*ow*(c/groups)*r*s: a multiply-add counts as 2.
  double Flops() const;
  // `conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1`
  std::string WorkloadString() const;
  // `c64 56x56 k64 3x3 s1`: short row label for tables.
  std::string Label() const;
};

// Parses `c,h,w,k,r,s,stride,pad` (batch 1). InvalidArgument naming the bad part.
absl::StatusOr<ConvShape> ParseConvShape(const std::string& text);

}  // namespace fleettune::bench

#endif  // FLEETTUNE_TESTS_BENCH_CONV_SHAPE_H_
