// PlanMemory: greedy-by-size assignment of intermediates to reusable buffers in one arena.
//
// Algorithm: tensors sorted by size, largest first (ties: the earlier-written first); each
// goes into the smallest existing buffer none of whose tensors' live intervals overlaps its
// own, else into a new buffer of its size. Largest-first means a buffer's size is fixed by
// its first tensor and every later one fits, so the best fit is simply the smallest free
// buffer, and the big activations (which dominate the peak) pick first. First-fit by interval
// order would let a small early tensor open a buffer that a large one then has to grow.
//
// Layout: one arena, buffers back to back, a tensor at its buffer's offset. Buffers rather
// than free offsets inside the arena keep the plan easy to check and to print; the cost is
// that two small tensors never pack into one big buffer side by side.
//
// Aliasing: the IR does not mark ops whose output may share its input's storage. No-op
// Reshape/Flatten ops are already removed by DropNoOpReshapes; a shape-changing Reshape or
// Flatten that remains is planned as a copy with its own interval.
#include "graph/plan_memory.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_format.h"

namespace fleettune::graph {
namespace {

int64_t AlignedBytes(const Tensor& tensor) {
  const int64_t bytes = NumElements(tensor.shape) * static_cast<int64_t>(sizeof(float));
  return (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
}

bool Overlap(const PlannedTensor& a, const PlannedTensor& b) {
  return a.first_op <= b.last_op && b.first_op <= a.last_op;
}

}  // namespace

const PlannedTensor* MemoryPlan::Find(const std::string& name) const {
  for (const PlannedTensor& tensor : tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

MemoryPlan PlanMemory(const Graph& graph) {
  MemoryPlan plan;
  std::set<std::string> external(graph.inputs.begin(), graph.inputs.end());
  external.insert(graph.outputs.begin(), graph.outputs.end());
  std::map<std::string, size_t> index;  // name -> position in plan.tensors
  for (int i = 0; i < static_cast<int>(graph.ops.size()); ++i) {
    const Op& op = graph.ops[i];
    for (const std::string& input : op.inputs) {
      auto it = index.find(input);
      if (it != index.end()) plan.tensors[it->second].last_op = i;
    }
    for (const std::string& output : op.outputs) {
      if (output.empty() || external.count(output) || graph.IsConstant(output)) continue;
      PlannedTensor tensor;
      tensor.name = output;
      tensor.first_op = tensor.last_op = i;
      tensor.bytes = AlignedBytes(graph.tensor(output));
      index[output] = plan.tensors.size();
      plan.tensors.push_back(tensor);
      plan.naive_bytes += tensor.bytes;
    }
  }

  std::vector<size_t> order(plan.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return plan.tensors[a].bytes > plan.tensors[b].bytes;
  });
  std::vector<std::vector<size_t>> members;  // per buffer, the tensors in it
  for (size_t t : order) {
    PlannedTensor& tensor = plan.tensors[t];
    int best = -1;
    for (int b = 0; b < static_cast<int>(members.size()); ++b) {
      const bool free = std::none_of(members[b].begin(), members[b].end(), [&](size_t other) {
        return Overlap(tensor, plan.tensors[other]);
      });
      if (free && (best < 0 || plan.buffers[b].bytes < plan.buffers[best].bytes)) best = b;
    }
    if (best < 0) {
      best = static_cast<int>(members.size());
      members.emplace_back();
      plan.buffers.push_back({0, tensor.bytes});
    }
    members[best].push_back(t);
    tensor.buffer = best;
  }
  for (PlannedBuffer& buffer : plan.buffers) {
    buffer.offset = plan.arena_bytes;
    plan.arena_bytes += buffer.bytes;
  }
  for (PlannedTensor& tensor : plan.tensors) tensor.offset = plan.buffers[tensor.buffer].offset;
  return plan;
}

std::string MemoryPlanSummary(const MemoryPlan& plan) {
  const double percent = plan.naive_bytes > 0 ? 100.0 * plan.arena_bytes / plan.naive_bytes : 100.0;
  return absl::StrFormat(
      "memory: %d intermediates, peak %d bytes in %d buffers, naive sum %d bytes (peak is "
      "%.1f%% of naive)",
      plan.tensors.size(), plan.arena_bytes, plan.buffers.size(), plan.naive_bytes, percent);
}

}  // namespace fleettune::graph
