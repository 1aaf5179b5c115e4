#include "tests/codegen/simple_op_runner.h"

#include <cmath>
#include <limits>
#include <memory>
#include <random>

#include "gtest/gtest.h"
#include "rpc_server/kernel_library.h"

namespace fleettune::codegen::testing {

void ExpectSimpleOpMatches(const SimpleOp& op, const std::vector<float>& want,
                           const std::vector<std::vector<float>>& inputs, const std::string& target,
                           double tolerance) {
  absl::StatusOr<std::vector<float>> got = RunSimpleOp(op, inputs, target);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_LE(RelativeError(*got, want), tolerance) << op.type << " on " << target;
}

absl::StatusOr<std::vector<float>> RunSimpleOp(const SimpleOp& op,
                                               const std::vector<std::vector<float>>& inputs,
                                               const std::string& target) {
  absl::StatusOr<CheckedTarget> checked = CheckedTarget::Parse(target);
  if (!checked.ok()) return checked.status();
  absl::StatusOr<BuiltKernel> kernel = BuildSimpleOp(op, *checked);
  if (!kernel.ok()) return kernel.status();
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> loaded =
      rpc_server::KernelLibrary::Load(kernel->shared_object, kernel->symbol);
  if (!loaded.ok()) return loaded.status();
  std::vector<std::vector<float>> buffers = inputs;
  buffers.emplace_back(Elements(op.output), std::nanf(""));
  std::vector<void*> args;
  for (std::vector<float>& buffer : buffers) args.push_back(buffer.data());
  if ((*loaded)->function()(args.data()) != 0) {
    return absl::InternalError("kernel returned non-zero");
  }
  return buffers.back();
}

std::vector<std::vector<float>> RandomInputs(const SimpleOp& op, uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<std::vector<float>> inputs;
  for (const SimpleOpInput& input : op.inputs) {
    if (!input.present) continue;
    std::vector<float> values(Elements(input.shape));
    for (float& v : values) v = uniform(random);
    inputs.push_back(std::move(values));
  }
  return inputs;
}

int64_t BroadcastOffset(const std::vector<int64_t>& out_index, const std::vector<int64_t>& shape) {
  int64_t offset = 0;
  size_t skip = out_index.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) {
    offset = offset * shape[d] + (shape[d] == 1 ? 0 : out_index[skip + d]);
  }
  return offset;
}

std::vector<int64_t> Unflatten(int64_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

double RelativeError(const std::vector<float>& x, const std::vector<float>& y) {
  if (x.size() != y.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) != std::isnan(y[i])) return std::numeric_limits<double>::infinity();
    if (std::isnan(x[i])) continue;
    if (std::isinf(y[i]) || std::isinf(x[i])) {
      if (x[i] != y[i]) return std::numeric_limits<double>::infinity();
      continue;
    }
    worst = std::max(worst, std::abs(double(x[i]) - y[i]) / std::max(1.0, std::abs(double(y[i]))));
  }
  return worst;
}

}  // namespace fleettune::codegen::testing
