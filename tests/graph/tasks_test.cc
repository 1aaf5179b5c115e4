// ExtractTasks: which Conv/Gemm/MatMul ops become which workloads, and why others do not.
#include "graph/tasks.h"

#include "codegen/checked_workload.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::graph {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

void AddTensor(Graph& graph, const std::string& name, std::vector<int64_t> shape,
               bool constant = false) {
  Tensor tensor{name, shape, constant, {}};
  if (constant) tensor.data.assign(NumElements(shape), 0.0f);
  graph.tensors[name] = tensor;
}

// A graph of one Conv: x[1,c,h,w] * w[k,c/group,r,r] (+ bias) with the given attributes.
Graph ConvGraph(int64_t c, int64_t k, int64_t r, int64_t group, std::vector<int64_t> strides,
                std::vector<int64_t> pads, std::vector<int64_t> dilations, bool bias) {
  Graph graph;
  AddTensor(graph, "x", {1, c, 16, 16});
  AddTensor(graph, "w", {k, c / group, r, r}, true);
  Op op{"conv", "Conv", {}, {}, {"x", "w"}, {"y"}};
  if (bias) {
    AddTensor(graph, "b", {k}, true);
    op.inputs.push_back("b");
  }
  op.int_attrs = {
      {"group", {group}}, {"strides", strides}, {"pads", pads}, {"dilations", dilations}};
  AddTensor(graph, "y", {1, k, 16 / strides[0], 16 / strides[0]});
  graph.ops.push_back(op);
  graph.outputs = {"y"};
  return graph;
}

struct ConvCase {
  int64_t c, k, r, group;
  std::vector<int64_t> strides, pads, dilations;
  bool bias;
  std::string workload;  // empty: not tunable, `reason` in the message
  std::string reason;
};

TEST(ExtractTasksTest, ConvCases) {
  const std::vector<ConvCase> cases = {
      {8,
       16,
       3,
       1,
       {1, 1},
       {1, 1, 1, 1},
       {1, 1},
       false,
       "conv2d:n=1,c=8,h=16,w=16,k=16,r=3,s=3,stride=1,pad=1",
       ""},
      {8,
       16,
       3,
       1,
       {2, 2},
       {1, 1, 1, 1},
       {1, 1},
       true,
       "conv2d:n=1,c=8,h=16,w=16,k=16,r=3,s=3,stride=2,pad=1,bias=1",
       ""},
      {8,
       8,
       3,
       8,
       {1, 1},
       {1, 1, 1, 1},
       {1, 1},
       true,
       "depthwise_conv2d:n=1,c=8,h=16,w=16,r=3,s=3,stride=1,pad=1,bias=1",
       ""},
      {8,
       16,
       3,
       1,
       {1, 1},
       {2, 2, 2, 2},
       {2, 2},
       false,
       "conv2d:n=1,c=8,h=16,w=16,k=16,r=3,s=3,stride=1,pad=2,dilation=2",
       ""},
      {8, 16, 3, 1, {1, 1}, {1, 0, 1, 0}, {1, 1}, false, "", "pads [1,0,1,0] differ"},
      {8, 16, 3, 1, {2, 1}, {1, 1, 1, 1}, {1, 1}, false, "", "strides [2,1] differ"},
      {8, 16, 3, 1, {1, 1}, {2, 2, 2, 2}, {2, 1}, false, "", "dilations [2,1] differ"},
      {8,
       16,
       3,
       2,
       {1, 1},
       {1, 1, 1, 1},
       {1, 1},
       false,
       "",
       "group 2 with 8 channels and 16 filters"},
      {8,
       16,
       3,
       8,
       {1, 1},
       {1, 1, 1, 1},
       {1, 1},
       false,
       "",
       "group 8 with 8 channels and 16 filters"},
  };
  for (const ConvCase& c : cases) {
    Graph graph = ConvGraph(c.c, c.k, c.r, c.group, c.strides, c.pads, c.dilations, c.bias);
    const Tasks tasks = ExtractTasks(graph);
    if (c.workload.empty()) {
      EXPECT_TRUE(tasks.tasks.empty()) << c.reason;
      ASSERT_EQ(tasks.untunable.size(), 1u) << c.reason;
      EXPECT_EQ(tasks.untunable[0].op, "conv");
      EXPECT_THAT(tasks.untunable[0].reason, HasSubstr(c.reason));
      continue;
    }
    ASSERT_EQ(tasks.tasks.size(), 1u) << c.workload;
    EXPECT_TRUE(tasks.untunable.empty()) << c.workload;
    EXPECT_EQ(tasks.tasks[0].workload, c.workload);
    EXPECT_EQ(tasks.tasks[0].flops, codegen::CheckedWorkload::Parse(c.workload)->Flops());
    EXPECT_EQ(tasks.tasks[0].share, 1.0);
  }
}

TEST(ExtractTasksTest, GemmAndMatMulShapes) {
  Graph graph;
  AddTensor(graph, "a", {1, 64});
  AddTensor(graph, "at", {64, 1});
  AddTensor(graph, "w", {10, 64}, true);  // transB: [n,k]
  AddTensor(graph, "b", {1, 10}, true);
  AddTensor(graph, "c2", {2, 10}, true);
  AddTensor(graph, "x3", {4, 8, 64});
  AddTensor(graph, "y3", {4, 64, 32});
  AddTensor(graph, "k2", {64, 32}, true);
  for (const char* out : {"g1", "g2", "g3", "g4", "m1", "m2"}) AddTensor(graph, out, {1});
  graph.ops = {
      {"g1", "Gemm", {{"transB", {1}}}, {}, {"a", "w", "b"}, {"g1"}},
      {"g2", "Gemm", {{"transA", {1}}, {"transB", {1}}}, {}, {"at", "w"}, {"g2"}},
      {"g3", "Gemm", {{"transB", {1}}}, {}, {"a", "w", "c2"}, {"g3"}},
      {"g4", "Gemm", {{"transB", {1}}}, {{"alpha", 2.0f}}, {"a", "w"}, {"g4"}},
      {"m1", "MatMul", {}, {}, {"x3", "y3"}, {"m1"}},
      {"m2", "MatMul", {}, {}, {"x3", "k2"}, {"m2"}},
  };
  const Tasks tasks = ExtractTasks(graph);
  std::vector<std::string> keys;
  for (const Task& task : tasks.tasks) keys.push_back(task.workload);
  EXPECT_THAT(keys, ElementsAre("batch_matmul:b=4,m=8,n=32,k=64", "matmul:m=32,n=32,k=64",
                                "matmul:m=1,n=10,k=64,bias=1", "matmul:m=1,n=10,k=64"));
  ASSERT_EQ(tasks.untunable.size(), 2u);
  EXPECT_EQ(tasks.untunable[0].op, "g3");
  EXPECT_THAT(tasks.untunable[0].reason, HasSubstr("bias C of shape [2,10]"));
  EXPECT_EQ(tasks.untunable[1].op, "g4");
  EXPECT_THAT(tasks.untunable[1].reason, HasSubstr("alpha or beta"));
  double total = 0;
  for (const Task& task : tasks.tasks) total += task.share;
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_EQ(tasks.tasks[0].share,
            4.0 * 8 * 32 * 128 / (4.0 * 8 * 32 * 128 + 32.0 * 32 * 128 + 10.0 * 129 + 10.0 * 128));
}

TEST(ExtractTasksTest, EqualWorkloadsAreCountedOnce) {
  Graph graph = ConvGraph(8, 8, 3, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}, false);
  Op second = graph.ops[0];
  second.name = "conv2";
  second.inputs[0] = "y";
  second.outputs = {"z"};
  AddTensor(graph, "z", {1, 8, 16, 16});
  graph.ops.push_back(second);
  const Tasks tasks = ExtractTasks(graph);
  ASSERT_EQ(tasks.tasks.size(), 1u);
  EXPECT_EQ(tasks.tasks[0].count, 2);
  EXPECT_THAT(tasks.tasks[0].ops, ElementsAre("conv", "conv2"));
}

}  // namespace
}  // namespace fleettune::graph
