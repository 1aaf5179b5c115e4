// Test helpers for simple ops: build, load and run one on given inputs; naive references.
#ifndef FLEETTUNE_TESTS_CODEGEN_SIMPLE_OP_RUNNER_H_
#define FLEETTUNE_TESTS_CODEGEN_SIMPLE_OP_RUNNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/simple_op.h"

namespace fleettune::codegen::testing {

// Builds `op` for `target` (a target string), runs it once on `inputs` (one per present
// input) and returns the output (NaN-filled before the run).
absl::StatusOr<std::vector<float>> RunSimpleOp(const SimpleOp& op,
                                               const std::vector<std::vector<float>>& inputs,
                                               const std::string& target = "host -threads=1");

// Runs `op` on `inputs` for `target` and expects RelativeError against `want` <= `tolerance`
// (a gtest expectation naming the op and target).
void ExpectSimpleOpMatches(const SimpleOp& op, const std::vector<float>& want,
                           const std::vector<std::vector<float>>& inputs, const std::string& target,
                           double tolerance = 1e-5);

// Random inputs for the present inputs of `op`, in [-1, 1).
std::vector<std::vector<float>> RandomInputs(const SimpleOp& op, uint32_t seed);

// The element of a tensor shaped `shape` that output index `out_index` (multi-dimensional,
// over `out_shape`) reads under numpy broadcasting.
int64_t BroadcastOffset(const std::vector<int64_t>& out_index, const std::vector<int64_t>& shape);

// The multi-dimensional index of flat element `flat` of `shape`.
std::vector<int64_t> Unflatten(int64_t flat, const std::vector<int64_t>& shape);

int64_t Elements(const std::vector<int64_t>& shape);

// The largest |x - y| / max(1, |y|) (y the reference), infinity when sizes differ or a
// value is NaN on one side only.
double RelativeError(const std::vector<float>& x, const std::vector<float>& y);

}  // namespace fleettune::codegen::testing

#endif  // FLEETTUNE_TESTS_CODEGEN_SIMPLE_OP_RUNNER_H_
