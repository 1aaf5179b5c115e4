// Simple ops against naive references: the registry, the checks, elementwise ops and copies.
#include "codegen/simple_op.h"

#include <algorithm>
#include <cfloat>
#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/codegen/simple_op_runner.h"

namespace fleettune::codegen {
namespace {

using testing::BroadcastOffset;
using testing::Elements;
using ::testing::HasSubstr;
using testing::RandomInputs;
using testing::RelativeError;
using testing::RunSimpleOp;
using testing::Unflatten;

SimpleOp Op(std::string type, std::vector<std::vector<int64_t>> inputs,
            std::vector<int64_t> output) {
  SimpleOp op;
  op.type = std::move(type);
  for (auto& shape : inputs) op.inputs.push_back({true, std::move(shape)});
  op.output = std::move(output);
  return op;
}

// Runs `op` on random inputs with `target` and compares with `reference` (1e-5).
void ExpectMatches(
    const SimpleOp& op,
    const std::function<std::vector<float>(const std::vector<std::vector<float>>&)>& reference,
    const std::string& target = "host -threads=1") {
  std::vector<std::vector<float>> inputs = RandomInputs(op, 7);
  testing::ExpectSimpleOpMatches(op, reference(inputs), inputs, target);
}

TEST(SimpleOpTest, TypesAreSortedAndIncludeTheFirstOps) {
  const std::vector<std::string>& types = SimpleOpTypes();
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end()));
  for (const char* type : {"Add", "Relu", "Flatten", "Reshape", "Identity"}) {
    EXPECT_THAT(types, ::testing::Contains(type));
  }
}

// What the schedule promises: big ops run their outer loop on libgomp threads when the target
// has several, small ones and single-thread targets do not; contiguous loops become vectors.
TEST(SimpleOpTest, BigOpsRunInParallelAndContiguousLoopsVectorize) {
  struct Case {
    SimpleOp op;
    const char* target;
    bool parallel;
  };
  SimpleOp pool = Op("MaxPool", {{1, 64, 56, 56}}, {1, 64, 28, 28});
  pool.int_attrs = {{"kernel_shape", {2, 2}}, {"strides", {2, 2}}};
  std::vector<Case> cases = {
      {Op("Relu", {{100003}}, {100003}), "host -threads=2", true},
      {Op("Relu", {{100003}}, {100003}), "host -threads=1", false},
      {Op("Relu", {{1003}}, {1003}), "host -threads=2", false},
      {Op("Add", {{64, 64, 33}, {64, 1, 33}}, {64, 64, 33}), "host -threads=2", true},
      {pool, "host -threads=4", true},
  };
  for (const Case& c : cases) {
    absl::StatusOr<CheckedTarget> target = CheckedTarget::Parse(c.target);
    ASSERT_TRUE(target.ok()) << target.status();
    BuildOptions options;
    options.dump_ir = true;
    absl::StatusOr<BuiltKernel> kernel = BuildSimpleOp(c.op, *target, options);
    ASSERT_TRUE(kernel.ok()) << kernel.status();
    EXPECT_EQ(kernel->needs_gomp, c.parallel) << c.op.type << " on " << c.target;
    EXPECT_EQ(kernel->ir_dump.find("parallel for") != std::string::npos, c.parallel);
    // The nest after the last lowering pass keeps its 8-lane vector loops.
    std::string lowered = kernel->ir_dump.substr(kernel->ir_dump.rfind("// simplify"));
    if (c.op.type != "MaxPool") EXPECT_THAT(lowered, HasSubstr("vectorized for (i.l, 0, 8)"));
  }
}

TEST(SimpleOpTest, UnknownTypeIsNamed) {
  absl::Status status = CheckSimpleOp(Op("Gelu", {{4}}, {4}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("Gelu"));
}

TEST(SimpleOpTest, UnsupportedAttributeIsNamed) {
  SimpleOp op = Op("Add", {{4}, {4}}, {4});
  op.int_attrs["broadcast"] = {1};
  absl::Status status = CheckSimpleOp(op);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("Add: unsupported attribute 'broadcast' (1)"));
}

TEST(SimpleOpTest, ShapesThatDoNotBroadcastAreRejected) {
  absl::Status status = CheckSimpleOp(Op("Mul", {{2, 3}, {2}}, {2, 3}));
  EXPECT_THAT(status.message(), HasSubstr("Mul: input [2] does not broadcast to output [2,3]"));
  status = CheckSimpleOp(Op("Relu", {{2, 3}}, {2, 4}));
  EXPECT_THAT(status.message(), HasSubstr("Relu: input [2,3] and output [2,4] differ in size"));
  status = CheckSimpleOp(Op("Relu", {{0, 3}}, {0, 3}));
  EXPECT_THAT(status.message(), HasSubstr("empty or unknown dimension"));
}

TEST(SimpleOpTest, OpenClTargetIsRejected) {
  absl::StatusOr<CheckedTarget> target = CheckedTarget::Parse("opencl");
  ASSERT_TRUE(target.ok()) << target.status();
  absl::StatusOr<BuiltKernel> kernel = BuildSimpleOp(Op("Relu", {{4}}, {4}), *target);
  EXPECT_EQ(kernel.status().code(), absl::StatusCode::kInvalidArgument);
}

std::vector<float> Map(const std::vector<float>& x, const std::function<float(float)>& fn) {
  std::vector<float> y(x.size());
  std::transform(x.begin(), x.end(), y.begin(), fn);
  return y;
}

TEST(SimpleOpTest, ReluOnEveryPath) {
  // Sizes below a vector, with a tail, and big enough to run in parallel.
  for (int64_t n : {5, 8, 1003, 100003}) {
    for (const char* target : {"host -threads=1", "host -threads=2"}) {
      ExpectMatches(
          Op("Relu", {{n}}, {n}),
          [](const auto& in) { return Map(in[0], [](float v) { return std::max(v, 0.0f); }); },
          target);
    }
  }
}

TEST(SimpleOpTest, CopiesKeepEveryElement) {
  auto copy = [](const auto& in) { return in[0]; };
  ExpectMatches(Op("Identity", {{3, 5, 7}}, {3, 5, 7}), copy);
  SimpleOp flatten = Op("Flatten", {{2, 3, 4, 5}}, {6, 20});
  flatten.int_attrs["axis"] = {2};
  ExpectMatches(flatten, copy);
  SimpleOp reshape = Op("Reshape", {{2, 3, 4}, {2}}, {4, 6});  // the shape input is not read
  ExpectMatches(
      reshape, [](const auto& in) { return in[0]; }, "host -threads=2");
}

TEST(SimpleOpTest, ClipBoundsAsAttributesBeforeOpset11) {
  SimpleOp op = Op("Clip", {{37}}, {37});
  op.opset = 6;
  op.float_attrs = {{"min", -0.25f}, {"max", 0.5f}};
  ExpectMatches(op, [](const auto& in) {
    return Map(in[0], [](float v) { return std::min(std::max(v, -0.25f), 0.5f); });
  });
  op.float_attrs = {{"max", 0.1f}};
  ExpectMatches(
      op, [](const auto& in) { return Map(in[0], [](float v) { return std::min(v, 0.1f); }); });
  op.float_attrs["alpha"] = 1;
  EXPECT_THAT(CheckSimpleOp(op).message(), HasSubstr("Clip: unsupported attribute 'alpha'"));
}

TEST(SimpleOpTest, ClipBoundsAsInputsFromOpset11) {
  // Both bounds, only the lower one, only the upper one: read from their arguments.
  struct Case {
    bool lower, upper;
  };
  for (Case c : {Case{true, true}, Case{true, false}, Case{false, true}}) {
    SimpleOp op = Op("Clip", {{3, 29}, {}, {}}, {3, 29});
    op.inputs[1].present = c.lower;
    op.inputs[2].present = c.upper;
    std::vector<std::vector<float>> inputs = RandomInputs(op, 5);
    if (c.lower) inputs[1] = {-0.3f};
    if (c.upper) inputs.back() = {0.4f};
    std::vector<float> want = Map(inputs[0], [&](float v) {
      if (c.lower) v = std::max(v, -0.3f);
      return c.upper ? std::min(v, 0.4f) : v;
    });
    absl::StatusOr<std::vector<float>> got = RunSimpleOp(op, inputs);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_LE(RelativeError(*got, want), 1e-5) << c.lower << c.upper;
  }
  SimpleOp op = Op("Clip", {{3, 29}, {}, {2}}, {3, 29});
  EXPECT_THAT(CheckSimpleOp(op).message(), HasSubstr("Clip: bound input 2 [2] is not a scalar"));
}

struct BinaryCase {
  std::vector<int64_t> a, b, out;
};

TEST(SimpleOpTest, BinaryOpsBroadcastLikeNumpy) {
  std::vector<BinaryCase> cases = {
      {{37}, {37}, {37}},
      {{2, 3, 4, 5}, {}, {2, 3, 4, 5}},
      {{2, 16, 5, 7}, {16, 1, 1}, {2, 16, 5, 7}},  // per-channel
      {{1, 4, 1}, {3, 1, 9}, {3, 4, 9}},           // both sides broadcast
      {{4, 1}, {4, 9}, {4, 9}},
      {{5}, {2, 3, 5}, {2, 3, 5}},
      {{1}, {1}, {1}},
      {{64, 64, 33}, {64, 1, 33}, {64, 64, 33}},  // big enough for the parallel path
  };
  struct Kind {
    const char* type;
    std::function<float(float, float)> fn;
  };
  std::vector<Kind> kinds = {{"Add", std::plus<float>()},
                             {"Sub", std::minus<float>()},
                             {"Mul", std::multiplies<float>()},
                             {"Div", std::divides<float>()}};
  for (const Kind& kind : kinds) {
    for (const BinaryCase& c : cases) {
      for (const char* target : {"host -threads=1", "host -threads=2"}) {
        ExpectMatches(
            Op(kind.type, {c.a, c.b}, c.out),
            [&](const auto& in) {
              std::vector<float> out(Elements(c.out));
              for (size_t i = 0; i < out.size(); ++i) {
                std::vector<int64_t> index = Unflatten(i, c.out);
                out[i] =
                    kind.fn(in[0][BroadcastOffset(index, c.a)], in[1][BroadcastOffset(index, c.b)]);
              }
              return out;
            },
            target);
      }
    }
  }
}

}  // namespace
}  // namespace fleettune::codegen
