// FuseEpilogues: which tails fuse and which must not (case tables on hand-built graphs), and a
// numerical check that a fused op computes what its unfused chain computed.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/internal/evaluate.h"
#include "graph/passes.h"
#include "graph/tasks.h"
#include "gtest/gtest.h"

namespace fleettune::graph {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// Builds graphs by hand: tensors with random constant data, ops in order.
struct Builder {
  Graph graph;
  std::mt19937 random{11};

  std::string Input(const std::string& name, std::vector<int64_t> shape) {
    graph.tensors[name] = Tensor{name, shape, false, {}};
    graph.inputs.push_back(name);
    return name;
  }
  // Uniform in [-scale, scale] unless `data` is given.
  std::string Const(const std::string& name, std::vector<int64_t> shape,
                    std::vector<float> data = {}, float scale = 1) {
    if (data.empty()) {
      std::uniform_real_distribution<float> uniform(-scale, scale);
      data.resize(NumElements(shape));
      for (float& v : data) v = uniform(random);
    }
    graph.tensors[name] = Tensor{name, shape, true, data};
    return name;
  }
  // An op writing a new tensor `out` of `shape`.
  std::string Node(const std::string& type, std::vector<std::string> inputs, const std::string& out,
                   std::vector<int64_t> shape, std::map<std::string, float> float_attrs = {}) {
    graph.tensors[out] = Tensor{out, shape, false, {}};
    graph.ops.push_back(Op{out + "_op", type, {}, float_attrs, inputs, {out}});
    return out;
  }
  // A 3x3 Conv, pad 1, of x[1,c,h,w] to k channels.
  std::string Conv(const std::string& x, int64_t k, const std::string& out, bool bias = false) {
    const std::vector<int64_t>& in = graph.tensor(x).shape;
    std::vector<std::string> inputs = {x, Const(out + "_w", {k, in[1], 3, 3})};
    if (bias) inputs.push_back(Const(out + "_b", {k}));
    Node("Conv", inputs, out, {in[0], k, in[2], in[3]});
    graph.ops.back().int_attrs = {{"pads", {1, 1, 1, 1}}, {"strides", {1, 1}}};
    return out;
  }
};

// Naive values of every tensor of `graph` for the values of its inputs; a fused op computes
// activation(op + bias + residual) as FuseEpilogues documents it.
std::map<std::string, std::vector<float>> Evaluate(const Graph& graph,
                                                   std::map<std::string, std::vector<float>> v) {
  auto value = [&](const std::string& name) -> const std::vector<float>& {
    return graph.IsConstant(name) ? graph.tensor(name).data : v.at(name);
  };
  for (const Op& op : graph.ops) {
    const std::vector<int64_t>& out_shape = graph.tensor(op.outputs[0]).shape;
    std::vector<float> out(NumElements(out_shape));
    if (op.type == "Conv") {  // 3x3, pad 1, stride 1
      const std::vector<int64_t>& in = graph.tensor(op.inputs[0]).shape;
      const std::vector<float>&x = value(op.inputs[0]), &w = value(op.inputs[1]);
      const int64_t c = in[1], h = in[2], wd = in[3], k = out_shape[1];
      for (int64_t o = 0; o < k; ++o) {
        for (int64_t y = 0; y < h; ++y) {
          for (int64_t z = 0; z < wd; ++z) {
            double sum = op.inputs.size() > 2 && !op.inputs[2].empty() ? value(op.inputs[2])[o] : 0;
            for (int64_t i = 0; i < c; ++i) {
              for (int64_t a = 0; a < 3; ++a) {
                for (int64_t b = 0; b < 3; ++b) {
                  int64_t yy = y + a - 1, zz = z + b - 1;
                  if (yy < 0 || yy >= h || zz < 0 || zz >= wd) continue;
                  sum += double{w[((o * c + i) * 3 + a) * 3 + b]} * x[(i * h + yy) * wd + zz];
                }
              }
            }
            out[(o * h + y) * wd + z] = static_cast<float>(sum);
          }
        }
      }
    } else if (op.type == "Gemm" || op.type == "MatMul") {  // 2-D, no transposes
      const std::vector<float>&a = value(op.inputs[0]), &b = value(op.inputs[1]);
      const int64_t m = out_shape[0], n = out_shape[1], k = graph.tensor(op.inputs[1]).shape[0];
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double sum = op.inputs.size() > 2 && !op.inputs[2].empty() ? value(op.inputs[2])[j] : 0;
          for (int64_t r = 0; r < k; ++r) sum += double{a[i * k + r]} * b[r * n + j];
          out[i * n + j] = static_cast<float>(sum);
        }
      }
    } else if (op.type == "Add") {
      std::vector<Tensor> inputs;
      for (const std::string& name : op.inputs) {
        inputs.push_back(Tensor{name, graph.tensor(name).shape, true, value(name)});
      }
      out = *internal::EvaluateOp(op, {&inputs[0], &inputs[1]}, out_shape);
    } else if (op.type == "Relu" || op.type == "Clip") {
      float low = op.type == "Relu" ? 0 : op.FloatAttr("min", -INFINITY);
      float high = op.type == "Relu" ? INFINITY : op.FloatAttr("max", INFINITY);
      if (op.inputs.size() > 1) low = value(op.inputs[1])[0];
      if (op.inputs.size() > 2) high = value(op.inputs[2])[0];
      const std::vector<float>& x = value(op.inputs[0]);
      for (size_t i = 0; i < x.size(); ++i) out[i] = std::min(std::max(x[i], low), high);
    } else {
      ADD_FAILURE() << "no evaluation of " << op.type;
    }
    if (op.IntAttr("fused_residual", 0) == 1) {
      for (size_t i = 0; i < out.size(); ++i) out[i] += value(op.inputs[3])[i];
    }
    const int64_t activation = op.IntAttr("fused_activation", 0);
    for (float& x : out) {
      if (activation >= 1) x = std::max(x, 0.0f);
      if (activation == 2) x = std::min(x, 6.0f);
    }
    v[op.outputs[0]] = out;
  }
  return v;
}

// What a case leaves: the op types in order, the fused op's attributes and workload.
struct Result {
  std::vector<std::string> types;
  int64_t activation = 0, residual = 0;
  std::string workload;
  int absorbed = 0;
};

// Fuses `graph` and describes its op named `name`.
Result Fuse(Graph graph, const std::string& name) {
  Result result;
  result.absorbed = FuseEpilogues(graph);
  for (const Op& op : graph.ops) {
    result.types.push_back(op.type);
    if (op.name != name) continue;
    absl::StatusOr<codegen::CheckedWorkload> workload = OpWorkload(graph, op);
    if (!workload.ok()) continue;
    result.workload = workload->key();
    result.activation = op.IntAttr("fused_activation", 0);
    result.residual = op.IntAttr("fused_residual", 0);
  }
  return result;
}

constexpr char kConv[] = "conv2d:n=1,c=3,h=6,w=6,k=4,r=3,s=3,stride=1,pad=1";

struct Case {
  std::string name;
  std::function<void(Builder&, const std::string& conv)> tail;  // after Conv(x) -> "c"
  std::vector<std::string> types;
  int64_t activation, residual;
  std::string workload_params;  // after kConv
};

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {"relu",
       [](Builder& b, const std::string& c) {
         b.Node("Relu", {c}, "y", {1, 4, 6, 6});
       },
       {"Conv"},
       1,
       0,
       ",relu=1"},
      {"clip_attributes",
       [](Builder& b, const std::string& c) {
         b.Node("Clip", {c}, "y", {1, 4, 6, 6}, {{"min", 0.0f}, {"max", 6.0f}});
       },
       {"Conv"},
       2,
       0,
       ",relu6=1"},
      {"clip_inputs",
       [](Builder& b, const std::string& c) {
         b.Node("Clip", {c, b.Const("lo", {}, {0}), b.Const("hi", {}, {6})}, "y", {1, 4, 6, 6});
       },
       {"Conv"},
       2,
       0,
       ",relu6=1"},
      {"residual_then_relu",
       [](Builder& b, const std::string& c) {
         b.Node("Relu", {b.Node("Add", {c, b.Input("skip", {1, 4, 6, 6})}, "s", {1, 4, 6, 6})}, "y",
                {1, 4, 6, 6});
       },
       {"Conv"},
       1,
       1,
       ",relu=1,residual=1"},
      {"residual_first_operand_computed_later",
       [](Builder& b, const std::string& c) {
         std::string skip = b.Conv("x", 4, "other");
         b.Node("Add", {skip, c}, "y", {1, 4, 6, 6});
       },
       {"Conv", "Conv"},
       0,
       1,
       ",residual=1"},
      {"bias_residual_relu6",
       [](Builder& b, const std::string& c) {
         std::string biased = b.Node("Add", {b.Const("bias", {4, 1, 1}), c}, "cb", {1, 4, 6, 6});
         std::string sum =
             b.Node("Add", {biased, b.Input("skip", {1, 4, 6, 6})}, "s", {1, 4, 6, 6});
         b.Node("Clip", {sum}, "y", {1, 4, 6, 6}, {{"min", 0.0f}, {"max", 6.0f}});
       },
       {"Conv"},
       2,
       1,
       ",bias=1,residual=1,relu6=1"},
      {"bias_1k11",
       [](Builder& b, const std::string& c) {
         b.Node("Add", {c, b.Const("bias", {1, 4, 1, 1})}, "y", {1, 4, 6, 6});
       },
       {"Conv"},
       0,
       0,
       ",bias=1"},
      // Must not fuse:
      {"two_uses",
       [](Builder& b, const std::string& c) {
         b.Node("Relu", {c}, "y", {1, 4, 6, 6});
         b.Node("Relu", {c}, "y2", {1, 4, 6, 6});
       },
       {"Conv", "Relu", "Relu"},
       0,
       0,
       ""},
      {"conv_output_is_a_graph_output",
       [](Builder& b, const std::string& c) {
         b.Node("Relu", {c}, "y", {1, 4, 6, 6});
         b.graph.outputs.push_back(c);
       },
       {"Conv", "Relu"},
       0,
       0,
       ""},
      {"sum_is_a_graph_output",
       [](Builder& b, const std::string& c) {
         std::string sum = b.Node("Add", {c, b.Input("skip", {1, 4, 6, 6})}, "s", {1, 4, 6, 6});
         b.Node("Relu", {sum}, "y", {1, 4, 6, 6});
         b.graph.outputs.push_back(sum);
       },
       {"Conv", "Relu"},
       0,
       1,
       ",residual=1"},
      {"clip_0_5",
       [](Builder& b, const std::string& c) {
         b.Node("Clip", {c}, "y", {1, 4, 6, 6}, {{"min", 0.0f}, {"max", 5.0f}});
       },
       {"Conv", "Clip"},
       0,
       0,
       ""},
      {"clip_minus1_6",
       [](Builder& b, const std::string& c) {
         b.Node("Clip", {c, b.Const("lo", {}, {-1}), b.Const("hi", {}, {6})}, "y", {1, 4, 6, 6});
       },
       {"Conv", "Clip"},
       0,
       0,
       ""},
      {"clip_without_max",
       [](Builder& b, const std::string& c) {
         b.Node("Clip", {c, b.Const("lo", {}, {0})}, "y", {1, 4, 6, 6});
       },
       {"Conv", "Clip"},
       0,
       0,
       ""},
      {"broadcast_add_of_an_activation",
       [](Builder& b, const std::string& c) {
         b.Node("Add", {c, b.Input("scale", {1, 4, 1, 1})}, "y", {1, 4, 6, 6});
       },
       {"Conv", "Add"},
       0,
       0,
       ""},
      {"broadcast_add_growing_the_output",
       [](Builder& b, const std::string& c) {
         b.Node("Add", {c, b.Input("wide", {2, 4, 6, 6})}, "y", {2, 4, 6, 6});
       },
       {"Conv", "Add"},
       0,
       0,
       ""},
      {"bias_k_broadcasts_over_the_width",
       [](Builder& b, const std::string& c) {
         b.Node("Add", {c, b.Const("bias", {4})}, "y", {1, 4, 6, 6});
       },
       {"Conv", "Add"},
       0,
       0,
       ""},
      {"relu_before_add",
       [](Builder& b, const std::string& c) {
         std::string r = b.Node("Relu", {c}, "r", {1, 4, 6, 6});
         b.Node("Add", {r, b.Input("skip", {1, 4, 6, 6})}, "y", {1, 4, 6, 6});
       },
       {"Conv", "Add"},
       1,
       0,
       ",relu=1"},
  };
  return *cases;
}

TEST(FuseEpiloguesTest, ConvCases) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    Builder b;
    b.Input("x", {1, 3, 6, 6});
    b.Conv("x", 4, "c");
    c.tail(b, "c");
    b.graph.outputs.insert(b.graph.outputs.begin(), b.graph.ops.back().outputs[0]);
    Result result = Fuse(b.graph, "c_op");
    EXPECT_THAT(result.types, ElementsAreArray(c.types));
    EXPECT_EQ(result.activation, c.activation);
    EXPECT_EQ(result.residual, c.residual);
    EXPECT_EQ(result.workload, kConv + c.workload_params);
  }
}

TEST(FuseEpiloguesTest, FusedOpIsPlacedLastAndWritesTheLastOutput) {
  Builder b;
  b.Input("x", {1, 3, 6, 6});
  b.Conv("x", 4, "c");
  std::string skip = b.Conv("x", 4, "other");  // computed after the first Conv
  b.Node("Relu", {b.Node("Add", {"c", skip}, "s", {1, 4, 6, 6})}, "y", {1, 4, 6, 6});
  b.graph.outputs = {"y"};
  EXPECT_EQ(FuseEpilogues(b.graph), 2);
  ASSERT_EQ(b.graph.ops.size(), 2u);
  const Op& fused = b.graph.ops[1];
  EXPECT_EQ(fused.name, "c_op");
  EXPECT_THAT(fused.inputs, ElementsAre("x", "c_w", "", "other"));
  EXPECT_THAT(fused.outputs, ElementsAre("y"));
  EXPECT_EQ(b.graph.tensors.count("c"), 0u);  // the intermediates are gone
  EXPECT_EQ(b.graph.tensors.count("s"), 0u);
  EXPECT_EQ(FuseEpilogues(b.graph), 0);  // nothing left to fuse
}

TEST(FuseEpiloguesTest, GemmAndMatMulCases) {
  struct MatCase {
    std::string type;
    std::vector<int64_t> bias_shape;  // of the Add after the op; {} none
    float beta;
    std::string workload;
    size_t ops_left;
  };
  const MatCase cases[] = {
      {"Gemm", {5}, 1.0f, "matmul:m=2,n=5,k=3,bias=1,relu=1", 1},
      {"MatMul", {1, 5}, 1.0f, "matmul:m=2,n=5,k=3,bias=1,relu=1", 1},
      {"MatMul", {}, 1.0f, "matmul:m=2,n=5,k=3,relu=1", 1},
      // beta 0.5: no workload (OpWorkload refuses it), so nothing fuses.
      {"Gemm", {5}, 0.5f, "", 3},
      // [2,5] is a residual, not a bias.
      {"MatMul", {2, 5}, 1.0f, "matmul:m=2,n=5,k=3,relu=1,residual=1", 1},
  };
  for (const MatCase& c : cases) {
    SCOPED_TRACE(c.type + " " + c.workload);
    Builder b;
    b.Input("a", {2, 3});
    std::string out = b.Node(c.type, {"a", b.Const("w", {3, 5})}, "p", {2, 5});
    if (c.type == "Gemm") b.graph.ops.back().float_attrs["beta"] = c.beta;
    if (!c.bias_shape.empty())
      out = b.Node("Add", {out, b.Const("bias", c.bias_shape)}, "pb", {2, 5});
    b.Node("Relu", {out}, "y", {2, 5});
    b.graph.outputs = {"y"};
    Result result = Fuse(b.graph, "p_op");
    EXPECT_EQ(result.workload, c.workload);
    EXPECT_EQ(result.types.size(), c.ops_left);
  }
}

// The fused graph computes what the unfused one did, on random inputs whose sums leave [0, 6].
TEST(FuseEpiloguesTest, FusedGraphComputesTheUnfusedChain) {
  Builder b;
  b.Input("x", {1, 3, 6, 6});
  b.Input("a", {4, 5});
  b.Input("r", {4, 6});
  // Conv -> + bias [1,4,1,1] -> + a later Conv's output -> ReLU6 (attributes).
  b.Conv("x", 4, "c");
  std::string biased = b.Node("Add", {"c", b.Const("cb", {1, 4, 1, 1})}, "c1", {1, 4, 6, 6});
  std::string skip = b.Conv("x", 4, "d", /*bias=*/true);
  std::string sum = b.Node("Add", {skip, biased}, "c2", {1, 4, 6, 6});
  b.Node("Clip", {sum}, "conv_out", {1, 4, 6, 6}, {{"min", 0.0f}, {"max", 6.0f}});
  // MatMul -> + bias [5] -> Relu -> Gemm -> + bias [1,3] -> + r -> ReLU6 (inputs).
  std::string m = b.Node("MatMul", {"a", b.Const("mw", {5, 7})}, "m", {4, 7});
  std::string m1 =
      b.Node("Relu", {b.Node("Add", {m, b.Const("mb", {7})}, "m1", {4, 7})}, "m2", {4, 7});
  std::string g = b.Node("Gemm", {m1, b.Const("gw", {7, 6}, {}, 2)}, "g", {4, 6});
  std::string g1 = b.Node("Add", {g, b.Const("gb", {1, 6})}, "g1", {4, 6});
  std::string g2 = b.Node("Add", {"r", g1}, "g2", {4, 6});
  b.Node("Clip", {g2, b.Const("lo", {}, {0}), b.Const("hi", {}, {6})}, "mat_out", {4, 6});
  b.graph.outputs = {"conv_out", "mat_out"};

  std::mt19937 random(3);
  std::uniform_real_distribution<float> uniform(-4, 4);
  std::map<std::string, std::vector<float>> inputs;
  for (const std::string& name : b.graph.inputs) {
    inputs[name].resize(NumElements(b.graph.tensor(name).shape));
    for (float& v : inputs[name]) v = uniform(random);
  }
  std::map<std::string, std::vector<float>> expected = Evaluate(b.graph, inputs);
  Graph fused = b.graph;
  EXPECT_EQ(FuseEpilogues(fused), 8);
  std::vector<std::string> types;
  for (const Op& op : fused.ops) types.push_back(op.type);
  EXPECT_THAT(types, ElementsAre("Conv", "Conv", "MatMul", "Gemm"));
  std::map<std::string, std::vector<float>> actual = Evaluate(fused, inputs);
  for (const std::string& output : b.graph.outputs) {
    SCOPED_TRACE(output);
    const std::vector<float>& want = expected.at(output);
    const std::vector<float>& got = actual.at(output);
    ASSERT_EQ(got.size(), want.size());
    int clipped_low = 0, clipped_high = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << "element " << i;
      clipped_low += want[i] == 0.0f;
      clipped_high += want[i] == 6.0f;
    }
    EXPECT_GT(clipped_low, 0);  // the activation is exercised on both sides
    EXPECT_GT(clipped_high, 0);
  }
}

}  // namespace
}  // namespace fleettune::graph
