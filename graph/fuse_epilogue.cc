// FuseEpilogues: the elementwise tail of a Conv, Gemm or MatMul (bias Add, residual Add, Relu
// or Clip to [0, 6]) becomes the op's fused epilogue, which the tuned kernels compute in
// their write-back (codegen's bias, residual, relu and relu6 workload params).
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/passes.h"
#include "graph/tasks.h"

namespace fleettune::graph {
namespace {

// The index of the one op reading `name`, or -1 when it has more or fewer readers or is a graph
// output (then it must stay a tensor of its own).
int SoleReader(const Graph& graph, const std::string& name) {
  if (graph.Uses(name) != 1) return -1;
  if (std::count(graph.outputs.begin(), graph.outputs.end(), name) > 0) return -1;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const std::vector<std::string>& inputs = graph.ops[i].inputs;
    if (std::count(inputs.begin(), inputs.end(), name) > 0) return static_cast<int>(i);
  }
  return -1;
}

// The operand of a two-input `add` other than `name`; "" when `add` is not such an Add.
std::string OtherAddend(const Op& add, const std::string& name) {
  if (add.type != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1) return "";
  if (add.inputs[0] == name) return add.inputs[1];
  if (add.inputs[1] == name) return add.inputs[0];
  return "";
}

bool HasBias(const Op& op) { return op.inputs.size() > 2 && !op.inputs[2].empty(); }

// True when `bias` (a constant) added to `op`'s output `shape` adds one value per output
// channel: [k,1,1] or [1,k,1,1] for a Conv (a [k] would broadcast over the width), [n] or
// [1,n] for a Gemm or MatMul.
bool IsChannelBias(const Op& op, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& bias) {
  if (op.type == "Conv") {
    if (shape.size() != 4) return false;
    const int64_t k = shape[1];
    return bias == std::vector<int64_t>{k, 1, 1} || bias == std::vector<int64_t>{1, k, 1, 1};
  }
  const int64_t n = shape.back();
  return bias == std::vector<int64_t>{n} || bias == std::vector<int64_t>{1, n};
}

// A Clip's bound: its constant scalar input `index` (opset 11 on), else its attribute `key`
// (before 11); `fallback` when neither is given. NaN when the input is not a constant scalar.
float ClipBound(const Graph& graph, const Op& clip, size_t index, const std::string& key,
                float fallback) {
  if (clip.inputs.size() > index && !clip.inputs[index].empty()) {
    const std::string& name = clip.inputs[index];
    if (!graph.IsConstant(name) || graph.tensor(name).data.size() != 1) return std::nanf("");
    return graph.tensor(name).data[0];
  }
  if (clip.inputs.size() > 1) return fallback;  // opset 11 on: an omitted bound
  return clip.FloatAttr(key, fallback);
}

// 1 for a Relu, 2 for a Clip to exactly [0, 6], else 0.
int64_t Activation(const Graph& graph, const Op& op) {
  if (op.outputs.size() != 1) return 0;
  if (op.type == "Relu") return 1;
  if (op.type != "Clip") return 0;
  const float inf = std::numeric_limits<float>::infinity();
  return ClipBound(graph, op, 1, "min", -inf) == 0.0f && ClipBound(graph, op, 2, "max", inf) == 6.0f
             ? 2
             : 0;
}

// A tensor name not yet in the graph, starting from `base`.
std::string FreshName(const Graph& graph, const std::string& base) {
  std::string name = base;
  for (int i = 1; graph.tensors.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

// What fusing into the op at `index` absorbs: the ops (graph indices, in order) and the fused
// op. Empty `absorbed` when nothing fuses.
struct Fusion {
  std::vector<int> absorbed;
  Op fused;
  Tensor new_bias;  // a bias folded from an Add (name empty when none)
};

Fusion PlanFusion(const Graph& graph, int index) {
  Fusion plan{{}, graph.ops[index], {}};
  Op& fused = plan.fused;
  const std::vector<int64_t> shape = graph.tensor(fused.outputs[0]).shape;
  auto absorb = [&](int reader) {
    plan.absorbed.push_back(reader);
    fused.outputs = {graph.ops[reader].outputs[0]};
  };
  auto same_shape = [&](const std::string& name) { return graph.tensor(name).shape == shape; };
  // A bias-less op takes a constant per-channel Add as its bias (a Gemm only with beta 1).
  int reader = SoleReader(graph, fused.outputs[0]);
  if (reader >= 0 && !HasBias(fused) && fused.FloatAttr("beta", 1.0f) == 1.0f) {
    const Op& add = graph.ops[reader];
    const std::string other = OtherAddend(add, fused.outputs[0]);
    if (!other.empty() && graph.IsConstant(other) && same_shape(add.outputs[0]) &&
        IsChannelBias(fused, shape, graph.tensor(other).shape)) {
      const Tensor& constant = graph.tensor(other);
      const int64_t channels = fused.type == "Conv" ? shape[1] : shape.back();
      plan.new_bias = {FreshName(graph, fused.name + "_bias"), {channels}, true, constant.data};
      fused.inputs.resize(3);
      fused.inputs[2] = plan.new_bias.name;
      absorb(reader);
      reader = SoleReader(graph, fused.outputs[0]);
    }
  }
  // A residual: an Add of a tensor shaped exactly like the output.
  if (reader >= 0) {
    const Op& add = graph.ops[reader];
    const std::string other = OtherAddend(add, fused.outputs[0]);
    if (!other.empty() && same_shape(other) && same_shape(add.outputs[0])) {
      fused.inputs.resize(4);
      fused.inputs[3] = other;
      fused.int_attrs["fused_residual"] = {1};
      absorb(reader);
      reader = SoleReader(graph, fused.outputs[0]);
    }
  }
  if (reader >= 0) {
    if (int64_t activation = Activation(graph, graph.ops[reader]); activation != 0) {
      fused.int_attrs["fused_activation"] = {activation};
      absorb(reader);
    }
  }
  return plan;
}

bool IsFusable(const Graph& graph, const Op& op) {
  if (op.type != "Conv" && op.type != "Gemm" && op.type != "MatMul") return false;
  if (op.outputs.size() != 1 || op.int_attrs.count("fused_activation") ||
      op.int_attrs.count("fused_residual")) {
    return false;
  }
  return OpWorkload(graph, op).ok();
}

}  // namespace

int FuseEpilogues(Graph& graph) {
  int absorbed = 0;
  for (size_t i = 0; i < graph.ops.size();) {
    Fusion plan;
    if (IsFusable(graph, graph.ops[i])) plan = PlanFusion(graph, static_cast<int>(i));
    if (plan.absorbed.empty()) {
      ++i;
      continue;
    }
    if (!plan.new_bias.name.empty()) graph.tensors[plan.new_bias.name] = plan.new_bias;
    if (!OpWorkload(graph, plan.fused).ok()) {  // every step keeps a workload; be sure
      graph.tensors.erase(plan.new_bias.name);
      ++i;
      continue;
    }
    // The fused op takes the place of the last op it absorbs: the residual may be computed
    // after the op itself.
    graph.ops[plan.absorbed.back()] = plan.fused;
    std::vector<int> erase(plan.absorbed.begin(), plan.absorbed.end() - 1);
    erase.push_back(static_cast<int>(i));
    std::sort(erase.rbegin(), erase.rend());
    for (int e : erase) graph.ops.erase(graph.ops.begin() + e);
    absorbed += static_cast<int>(plan.absorbed.size());  // the op now at i is the next one
  }
  graph.RemoveUnusedTensors();
  return absorbed;
}

}  // namespace fleettune::graph
