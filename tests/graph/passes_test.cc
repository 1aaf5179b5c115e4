// Graph passes: BatchNormalization folding checked numerically, no-op reshapes dropped,
// constant folding.
#include "graph/passes.h"

#include <cmath>
#include <random>

#include "gmock/gmock.h"
#include "graph/onnx_import.h"
#include "gtest/gtest.h"
#include "tests/graph/model_files.h"

namespace fleettune::graph {
namespace {

using ::testing::ElementsAre;

// Naive NCHW convolution of `x` with `op`'s weight and bias (group 1, dilation 1).
std::vector<float> NaiveConv(const Graph& graph, const Op& op, const std::vector<float>& x) {
  const std::vector<int64_t>& in = graph.tensor(op.inputs[0]).shape;
  const std::vector<int64_t>& out = graph.tensor(op.outputs[0]).shape;
  const Tensor& w = graph.tensor(op.inputs[1]);
  const bool has_bias = op.inputs.size() > 2 && !op.inputs[2].empty();
  const int64_t stride = op.int_attrs.at("strides")[0], pad = op.int_attrs.at("pads")[0];
  const int64_t c = in[1], h = in[2], wd = in[3], k = out[1], oh = out[2], ow = out[3];
  const int64_t r = w.shape[2], s = w.shape[3];
  std::vector<float> y(k * oh * ow);
  for (int64_t ko = 0; ko < k; ++ko) {
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        double sum = has_bias ? graph.tensor(op.inputs[2]).data[ko] : 0.0;
        for (int64_t ci = 0; ci < c; ++ci) {
          for (int64_t a = 0; a < r; ++a) {
            for (int64_t b = 0; b < s; ++b) {
              const int64_t yi = i * stride - pad + a, xj = j * stride - pad + b;
              if (yi < 0 || yi >= h || xj < 0 || xj >= wd) continue;
              sum += double{w.data[((ko * c + ci) * r + a) * s + b]} * x[(ci * h + yi) * wd + xj];
            }
          }
        }
        y[(ko * oh + i) * ow + j] = static_cast<float>(sum);
      }
    }
  }
  return y;
}

TEST(FoldBatchNormTest, FoldedConvComputesConvThenBatchNorm) {
  absl::StatusOr<Graph> graph = ImportOnnx(ModelFile("small"));
  ASSERT_TRUE(graph.ok()) << graph.status();
  const Op conv = graph->ops[0];
  const Op bn = graph->ops[1];
  ASSERT_EQ(bn.type, "BatchNormalization");
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> x(3 * 8 * 8);
  for (float& v : x) v = uniform(rng);

  // Reference: the model's conv, then BatchNormalization per channel.
  std::vector<float> expected = NaiveConv(*graph, conv, x);
  const float eps = bn.FloatAttr("epsilon", 1e-5f);
  const auto& scale = graph->tensor(bn.inputs[1]).data;
  const auto& beta = graph->tensor(bn.inputs[2]).data;
  const auto& mean = graph->tensor(bn.inputs[3]).data;
  const auto& var = graph->tensor(bn.inputs[4]).data;
  for (size_t i = 0; i < expected.size(); ++i) {
    const size_t k = i / 64;
    expected[i] = (expected[i] - mean[k]) / std::sqrt(var[k] + eps) * scale[k] + beta[k];
  }

  EXPECT_EQ(FoldBatchNorm(*graph), 1);
  ASSERT_EQ(graph->ops.size(), 5u);
  const Op& folded = graph->ops[0];
  EXPECT_EQ(folded.type, "Conv");
  EXPECT_EQ(folded.outputs[0], bn.outputs[0]);
  EXPECT_EQ(graph->ops[1].inputs[0], bn.outputs[0]);
  EXPECT_EQ(graph->tensors.count(bn.inputs[1]), 0u);  // BN parameters dropped
  const std::vector<float> actual = NaiveConv(*graph, folded, x);
  ASSERT_EQ(actual.size(), expected.size());
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    worst = std::max(
        worst, std::abs(double{actual[i]} - expected[i]) / (1.0 + std::abs(double{expected[i]})));
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(DropNoOpReshapesTest, ReshapeToItsOwnShapeIsDropped) {
  absl::StatusOr<Graph> graph = ImportOnnx(ModelFile("noop_reshape"));
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->ops[4].type, "Reshape");
  const std::string pooled = graph->ops[3].outputs[0];
  const std::string reshaped = graph->ops[4].outputs[0];
  EXPECT_EQ(DropNoOpReshapes(*graph), 1);
  std::vector<std::string> types;
  for (const Op& op : graph->ops) types.push_back(op.type);
  EXPECT_THAT(types,
              ElementsAre("Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"));
  EXPECT_EQ(graph->ops[4].inputs[0], pooled);  // the Flatten reads the MaxPool directly
  EXPECT_EQ(graph->tensors.count(reshaped), 0u);
  EXPECT_EQ(DropNoOpReshapes(*graph), 0);  // the Flatten changes the shape: kept
}

TEST(FoldConstantsTest, ConstantArithmeticAndShapeInputsFold) {
  absl::StatusOr<Graph> graph = ImportOnnx(ModelFile("const_fold"));
  ASSERT_TRUE(graph.ok()) << graph.status();
  // Mul, Add (shape), Reshape, Mul, Add (bias), Gemm.
  ASSERT_EQ(graph->ops.size(), 6u);
  const Op& reshape = graph->ops[2];
  EXPECT_THAT(graph->tensor(reshape.outputs[0]).shape, ElementsAre(1, 64));
  EXPECT_EQ(FoldConstants(*graph), 5);  // four evaluated, one Reshape's shape input folded
  ASSERT_EQ(graph->ops.size(), 2u);
  EXPECT_EQ(graph->ops[0].type, "Reshape");
  EXPECT_THAT(graph->ops[0].inputs, ElementsAre("input"));
  EXPECT_THAT(graph->ops[0].int_attrs.at("shape"), ElementsAre(1, 64));
  const Tensor& bias = graph->tensor(graph->ops[1].inputs[2]);
  EXPECT_TRUE(bias.constant);
  EXPECT_THAT(bias.data, ::testing::Each(2.5f));  // 0.5 + 1 * 2
  EXPECT_EQ(bias.data.size(), 10u);
}

TEST(RunPassesTest, PassesRunInOrderAndDumpShowsShapes) {
  absl::StatusOr<Graph> graph = ImportOnnx(ModelFile("noop_reshape"));
  ASSERT_TRUE(graph.ok()) << graph.status();
  std::vector<std::string> names;
  std::string last;
  RunPasses(*graph, [&](const std::string& pass, const Graph& g) {
    names.push_back(pass);
    last = DumpGraph(g);
  });
  EXPECT_THAT(names,
              ElementsAre("FoldConstants", "FoldBatchNorm", "DropNoOpReshapes", "FuseEpilogues"));
  EXPECT_EQ(graph->ops.size(), 4u);  // Conv (BN folded, Relu fused), MaxPool, Flatten, Gemm
  EXPECT_THAT(last, ::testing::HasSubstr("fused_activation=1"));
  EXPECT_THAT(last, ::testing::Not(::testing::HasSubstr("Relu")));
  EXPECT_THAT(last, ::testing::HasSubstr("Flatten(maxpool"));
  EXPECT_THAT(last, ::testing::HasSubstr("[1,8,4,4]) -> flatten"));
  EXPECT_THAT(last, ::testing::Not(::testing::HasSubstr("BatchNormalization")));
  EXPECT_THAT(last, ::testing::Not(::testing::HasSubstr("Reshape")));
}

}  // namespace
}  // namespace fleettune::graph
