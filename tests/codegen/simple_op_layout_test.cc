// Concat, Softmax and BatchNormalization simple ops against naive references.
#include <cmath>

#include "codegen/simple_op.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/codegen/simple_op_runner.h"

namespace fleettune::codegen {
namespace {

using testing::Elements;
using testing::ExpectSimpleOpMatches;
using ::testing::HasSubstr;
using testing::RandomInputs;
using testing::RelativeError;
using testing::RunSimpleOp;
using testing::Unflatten;

TEST(SimpleLayoutTest, ConcatAlongAnyAxis) {
  struct Case {
    std::vector<std::vector<int64_t>> inputs;
    int64_t axis;
    std::vector<int64_t> out;
  };
  std::vector<Case> cases = {
      {{{2, 3, 4}, {1, 3, 4}}, 0, {3, 3, 4}},
      {{{2, 3, 4}, {2, 5, 4}, {2, 1, 4}}, 1, {2, 9, 4}},
      {{{2, 3, 4}, {2, 3, 13}}, -1, {2, 3, 17}},
      {{{7}}, 0, {7}},
      {{{64, 32, 20}, {64, 16, 20}}, 1, {64, 48, 20}},  // parallel
  };
  for (const Case& c : cases) {
    SimpleOp op;
    op.type = "Concat";
    for (const auto& shape : c.inputs) op.inputs.push_back({true, shape});
    op.output = c.out;
    op.int_attrs["axis"] = {c.axis};
    std::vector<std::vector<float>> in = RandomInputs(op, 19);
    const size_t axis = c.axis < 0 ? c.axis + c.out.size() : c.axis;
    std::vector<float> want(Elements(c.out));
    for (size_t i = 0; i < want.size(); ++i) {
      std::vector<int64_t> index = Unflatten(i, c.out);
      size_t k = 0;
      while (index[axis] >= c.inputs[k][axis]) index[axis] -= c.inputs[k++][axis];
      int64_t offset = 0;
      for (size_t d = 0; d < index.size(); ++d) offset = offset * c.inputs[k][d] + index[d];
      want[i] = in[k][offset];
    }
    for (const char* target : {"host -threads=1", "host -threads=2"}) {
      ExpectSimpleOpMatches(op, want, in, target, 0);
    }
  }
  SimpleOp bad;
  bad.type = "Concat";
  bad.inputs = {{true, {2, 3}}, {true, {3, 3}}};
  bad.output = {2, 6};
  bad.int_attrs["axis"] = {1};
  EXPECT_THAT(CheckSimpleOp(bad).message(),
              HasSubstr("Concat: input [3,3] does not fit output [2,6] along axis 1"));
  bad.int_attrs["axis"] = {2};
  EXPECT_THAT(CheckSimpleOp(bad).message(), HasSubstr("Concat: axis 2 is out of range for 2 dims"));
}

struct SoftmaxCase {
  std::vector<int64_t> shape;
  int64_t axis;
  int opset;
};

TEST(SimpleLayoutTest, SoftmaxBeforeAndFromOpset13) {
  std::vector<SoftmaxCase> cases = {
      {{2, 3, 4}, 1, 11},                                           // coerced to [2, 12]
      {{2, 3, 4}, 1, 13},                                           // along dim 1 only
      {{2, 3, 4}, -1, 13},                                          // last dim
      {{2, 3, 4}, 0, 13},  {{5, 37}, 1, 11}, {{256, 1000}, 1, 13},  // parallel
  };
  for (const SoftmaxCase& c : cases) {
    SimpleOp op;
    op.type = "Softmax";
    op.opset = c.opset;
    op.inputs = {{true, c.shape}};
    op.output = c.shape;
    op.int_attrs["axis"] = {c.axis};
    std::vector<std::vector<float>> in = RandomInputs(op, 23);
    for (float& v : in[0]) v = v * 50 + 100;  // would overflow exp without the max
    const size_t axis = c.axis < 0 ? c.axis + c.shape.size() : c.axis;
    int64_t outer = 1, n = 1, inner = 1;
    for (size_t d = 0; d < c.shape.size(); ++d) {
      (d < axis ? outer : d == axis || c.opset < 13 ? n : inner) *= c.shape[d];
    }
    std::vector<float> want(in[0].size());
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t k) { return (o * n + k) * inner + i; };
        double max = -INFINITY, sum = 0;
        for (int64_t k = 0; k < n; ++k) max = std::max<double>(max, in[0][at(k)]);
        for (int64_t k = 0; k < n; ++k) sum += std::exp(in[0][at(k)] - max);
        for (int64_t k = 0; k < n; ++k) want[at(k)] = std::exp(in[0][at(k)] - max) / sum;
      }
    }
    for (const char* target : {"host -threads=1", "host -threads=2"}) {
      ExpectSimpleOpMatches(op, want, in, target);
    }
  }
}

TEST(SimpleLayoutTest, BatchNormalizationForInference) {
  for (const std::vector<int64_t>& shape :
       std::vector<std::vector<int64_t>>{{2, 3, 4, 5}, {4, 6}, {1, 32, 32, 33}}) {
    SimpleOp op;
    op.type = "BatchNormalization";
    const int64_t c = shape[1];
    op.inputs = {{true, shape}, {true, {c}}, {true, {c}}, {true, {c}}, {true, {c}}};
    op.output = shape;
    op.float_attrs = {{"epsilon", 1e-3f}, {"momentum", 0.9f}};
    std::vector<std::vector<float>> in = RandomInputs(op, 29);
    for (float& v : in[4]) v = std::abs(v) + 0.05f;  // variances
    const int64_t inner = Elements(shape) / (shape[0] * c);
    std::vector<float> want(in[0].size());
    for (size_t i = 0; i < want.size(); ++i) {
      const int64_t ch = (i / inner) % c;
      want[i] = (in[0][i] - in[3][ch]) * in[1][ch] / std::sqrt(in[4][ch] + 1e-3) + in[2][ch];
    }
    for (const char* target : {"host -threads=1", "host -threads=2"}) {
      ExpectSimpleOpMatches(op, want, in, target);
    }
  }
  SimpleOp bad;
  bad.type = "BatchNormalization";
  bad.inputs = {{true, {1, 3, 2}}, {true, {3}}, {true, {3}}, {true, {3}}, {true, {4}}};
  bad.output = {1, 3, 2};
  EXPECT_THAT(CheckSimpleOp(bad).message(),
              HasSubstr("BatchNormalization: input 4 [4] is not [C] = [3]"));
  bad.int_attrs["training_mode"] = {1};
  EXPECT_THAT(CheckSimpleOp(bad).message(),
              HasSubstr("BatchNormalization: unsupported training_mode 1"));
}

}  // namespace
}  // namespace fleettune::codegen
