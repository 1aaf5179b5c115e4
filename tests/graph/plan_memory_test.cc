// PlanMemory: exact plans of hand-built graphs (a chain, a residual diamond), and properties
// of the plans of generated ResNet-50 and MobileNet-V2 checked against live sets computed here.
#include "graph/plan_memory.h"

#include <algorithm>
#include <map>
#include <set>

#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "gtest/gtest.h"
#include "tests/graph/model_files.h"

namespace fleettune::graph {
namespace {

// A graph of ops `type(inputs) -> output`, every tensor float32 with `elements` elements.
struct OpSpec {
  std::vector<std::string> inputs;
  std::string output;
};
Graph MakeGraph(const std::map<std::string, int64_t>& elements, const std::vector<OpSpec>& ops,
                const std::string& input, const std::string& output) {
  Graph graph;
  for (const auto& [name, n] : elements) graph.tensors[name] = Tensor{name, {1, n}, false, {}};
  for (size_t i = 0; i < ops.size(); ++i) {
    graph.ops.push_back(
        Op{"op" + std::to_string(i), "Relu", {}, {}, ops[i].inputs, {ops[i].output}});
  }
  graph.inputs = {input};
  graph.outputs = {output};
  return graph;
}

TEST(PlanMemoryTest, ChainReusesTheBufferOfATensorNoLongerLive) {
  // x -> a -> b -> c -> y; a and c (256 bytes) never live together, b (40 -> 64 bytes after
  // alignment) overlaps both.
  const Graph graph = MakeGraph({{"x", 64}, {"a", 64}, {"b", 10}, {"c", 64}, {"y", 64}},
                                {{{"x"}, "a"}, {{"a"}, "b"}, {{"b"}, "c"}, {{"c"}, "y"}}, "x", "y");
  const MemoryPlan plan = PlanMemory(graph);
  ASSERT_EQ(plan.tensors.size(), 3u);
  EXPECT_EQ(plan.Find("x"), nullptr);
  EXPECT_EQ(plan.Find("y"), nullptr);
  const PlannedTensor& a = *plan.Find("a");
  const PlannedTensor& b = *plan.Find("b");
  const PlannedTensor& c = *plan.Find("c");
  EXPECT_EQ(a.first_op, 0);
  EXPECT_EQ(a.last_op, 1);
  EXPECT_EQ(b.bytes, 64);
  EXPECT_EQ(c.bytes, 256);
  EXPECT_EQ(a.buffer, 0);
  EXPECT_EQ(c.buffer, 0);
  EXPECT_EQ(b.buffer, 1);
  EXPECT_EQ(a.offset, 0);
  EXPECT_EQ(c.offset, 0);
  EXPECT_EQ(b.offset, 256);
  ASSERT_EQ(plan.buffers.size(), 2u);
  EXPECT_EQ(plan.arena_bytes, 256 + 64);
  EXPECT_EQ(plan.naive_bytes, 256 + 64 + 256);
  EXPECT_EQ(MemoryPlanSummary(plan),
            "memory: 3 intermediates, peak 320 bytes in 2 buffers, naive sum 576 bytes (peak is "
            "55.6% of naive)");
}

TEST(PlanMemoryTest, ResidualDiamondKeepsTheSkipTensorLiveUntilTheAdd) {
  // a (1024 bytes) feeds b (512) -> c (1024) and the Add d = a + c, so a lives over ops 0..3;
  // d may not take a's or c's buffer (op 3 reads them), b fits only where d is, later.
  Graph graph = MakeGraph(
      {{"x", 256}, {"a", 256}, {"b", 128}, {"c", 256}, {"d", 256}, {"y", 256}},
      {{{"x", "w"}, "a"}, {{"a"}, "b"}, {{"b"}, "c"}, {{"a", "c"}, "d"}, {{"d"}, "y"}}, "x", "y");
  graph.tensors["w"] = Tensor{"w", {1}, true, {1.0f}};  // a constant: never planned
  const MemoryPlan plan = PlanMemory(graph);
  ASSERT_EQ(plan.tensors.size(), 4u);
  EXPECT_EQ(plan.Find("w"), nullptr);
  EXPECT_EQ(plan.Find("a")->last_op, 3);
  EXPECT_EQ(plan.Find("a")->buffer, 0);
  EXPECT_EQ(plan.Find("c")->buffer, 1);
  EXPECT_EQ(plan.Find("d")->buffer, 2);
  EXPECT_EQ(plan.Find("b")->buffer, 2);
  EXPECT_EQ(plan.Find("b")->offset, 2048);
  ASSERT_EQ(plan.buffers.size(), 3u);
  EXPECT_EQ(plan.buffers[2].bytes, 1024);
  EXPECT_EQ(plan.arena_bytes, 3072);
  EXPECT_EQ(plan.naive_bytes, 3584);
}

TEST(PlanMemoryTest, TakesTheSmallestFreeBufferNotTheFirst) {
  // t1 (1024 bytes) and t2 (512) overlap at op 1, so they get buffers 0 and 1; t3 (256) lives
  // after both and fits either: best fit takes the 512-byte one.
  Graph graph = MakeGraph(
      {{"x", 256}, {"t1", 256}, {"t2", 128}, {"t3", 64}, {"y1", 1}, {"y2", 1}},
      {{{"x"}, "t1"}, {{"t1"}, "t2"}, {{"t2"}, "y1"}, {{"x"}, "t3"}, {{"t3"}, "y2"}}, "x", "y1");
  graph.outputs = {"y1", "y2"};
  const MemoryPlan plan = PlanMemory(graph);
  ASSERT_EQ(plan.tensors.size(), 3u);
  EXPECT_EQ(plan.Find("t1")->buffer, 0);
  EXPECT_EQ(plan.Find("t2")->buffer, 1);
  EXPECT_EQ(plan.Find("t3")->buffer, 1);
  EXPECT_EQ(plan.Find("t3")->offset, 1024);
  EXPECT_EQ(plan.arena_bytes, 1536);
}

// Checks `graph`'s plan against live intervals computed here, independently of PlanMemory.
void CheckPlanProperties(const Graph& graph) {
  const MemoryPlan plan = PlanMemory(graph);
  std::set<std::string> external(graph.inputs.begin(), graph.inputs.end());
  external.insert(graph.outputs.begin(), graph.outputs.end());
  std::map<std::string, std::pair<int, int>> live;  // intermediate -> [written, last read]
  std::map<std::string, int64_t> bytes;
  for (int i = 0; i < static_cast<int>(graph.ops.size()); ++i) {
    for (const std::string& in : graph.ops[i].inputs) {
      if (live.count(in)) live[in].second = i;
    }
    for (const std::string& out : graph.ops[i].outputs) {
      if (external.count(out) || graph.tensor(out).constant) continue;
      live[out] = {i, i};
      bytes[out] = (NumElements(graph.tensor(out).shape) * 4 + 63) / 64 * 64;
    }
  }
  ASSERT_EQ(plan.tensors.size(), live.size());
  int64_t naive = 0, largest_live_set = 0;
  for (const auto& [name, b] : bytes) naive += b;
  for (int i = 0; i < static_cast<int>(graph.ops.size()); ++i) {
    int64_t live_bytes = 0;
    for (const auto& [name, interval] : live) {
      if (interval.first <= i && i <= interval.second) live_bytes += bytes[name];
    }
    largest_live_set = std::max(largest_live_set, live_bytes);
  }
  EXPECT_EQ(plan.naive_bytes, naive);
  EXPECT_GE(plan.arena_bytes, largest_live_set);
  EXPECT_LE(plan.arena_bytes, plan.naive_bytes);
  EXPECT_LT(plan.arena_bytes, plan.naive_bytes / 2);  // reuse does happen
  for (const PlannedTensor& t : plan.tensors) {
    ASSERT_TRUE(live.count(t.name)) << t.name;
    EXPECT_EQ(t.bytes, bytes[t.name]) << t.name;
    EXPECT_EQ(t.offset % kBufferAlignment, 0) << t.name;
    EXPECT_LE(t.offset + t.bytes, plan.arena_bytes) << t.name;
  }
  int checked_pairs = 0;
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    for (size_t j = i + 1; j < plan.tensors.size(); ++j) {
      const PlannedTensor& p = plan.tensors[i];
      const PlannedTensor& q = plan.tensors[j];
      const auto [p0, p1] = live[p.name];
      const auto [q0, q1] = live[q.name];
      if (p0 > q1 || q0 > p1) continue;  // never live together
      ++checked_pairs;
      EXPECT_TRUE(p.offset + p.bytes <= q.offset || q.offset + q.bytes <= p.offset)
          << p.name << " and " << q.name << " are live together and share memory";
    }
  }
  EXPECT_GT(checked_pairs, 0);
}

class PlanMemoryModelTest : public testing::TestWithParam<std::string> {};

TEST_P(PlanMemoryModelTest, LiveTensorsNeverShareMemoryAndPeakIsBounded) {
  absl::StatusOr<Graph> graph = ImportOnnx(ModelFile(GetParam()));
  ASSERT_TRUE(graph.ok()) << graph.status();
  RunPasses(*graph);
  CheckPlanProperties(*graph);
}

INSTANTIATE_TEST_SUITE_P(Models, PlanMemoryModelTest, testing::Values("resnet50", "mobilenet_v2"));

}  // namespace
}  // namespace fleettune::graph
