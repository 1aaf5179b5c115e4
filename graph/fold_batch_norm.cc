// FoldBatchNorm: a Conv followed by BatchNormalization becomes one Conv with new weights.
#include <cmath>

#include "graph/passes.h"

namespace fleettune::graph {
namespace {

// The index of the op writing `name`, or -1.
int Producer(const Graph& graph, const std::string& name) {
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    for (const std::string& out : graph.ops[i].outputs) {
      if (out == name) return static_cast<int>(i);
    }
  }
  return -1;
}

bool Foldable(const Graph& graph, const Op& bn, int conv_index) {
  if (conv_index < 0 || graph.ops[conv_index].type != "Conv") return false;
  const Op& conv = graph.ops[conv_index];
  if (graph.Uses(conv.outputs[0]) != 1) return false;
  if (!graph.IsConstant(conv.inputs[1])) return false;
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && !graph.IsConstant(conv.inputs[2])) {
    return false;
  }
  if (bn.inputs.size() != 5) return false;
  for (size_t i = 1; i < 5; ++i) {
    if (!graph.IsConstant(bn.inputs[i])) return false;
  }
  for (size_t i = 1; i < bn.outputs.size(); ++i) {  // training-mode outputs must be unused
    if (!bn.outputs[i].empty() && graph.Uses(bn.outputs[i]) > 0) return false;
  }
  return true;
}

// A tensor name not yet in the graph, starting from `base`.
std::string FreshName(const Graph& graph, const std::string& base) {
  std::string name = base;
  for (int i = 1; graph.tensors.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

void Fold(Graph& graph, Op& conv, const Op& bn) {
  const Tensor& weight = graph.tensor(conv.inputs[1]);
  const int64_t channels = weight.shape[0];
  const int64_t per_channel = NumElements(weight.shape) / channels;
  const float epsilon = bn.FloatAttr("epsilon", 1e-5f);
  const std::vector<float>& scale = graph.tensor(bn.inputs[1]).data;
  const std::vector<float>& beta = graph.tensor(bn.inputs[2]).data;
  const std::vector<float>& mean = graph.tensor(bn.inputs[3]).data;
  const std::vector<float>& var = graph.tensor(bn.inputs[4]).data;
  const bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();

  Tensor new_weight{FreshName(graph, conv.inputs[1] + "_bn"), weight.shape, true, weight.data};
  Tensor new_bias{FreshName(graph, conv.name + "_bn_bias"),
                  {channels},
                  true,
                  std::vector<float>(channels, 0.0f)};
  for (int64_t k = 0; k < channels; ++k) {
    const double s = scale[k] / std::sqrt(static_cast<double>(var[k]) + epsilon);
    for (int64_t i = 0; i < per_channel; ++i) {
      float& w = new_weight.data[k * per_channel + i];
      w = static_cast<float>(w * s);
    }
    const double b = has_bias ? graph.tensor(conv.inputs[2]).data[k] : 0.0;
    new_bias.data[k] = static_cast<float>((b - mean[k]) * s + beta[k]);
  }
  conv.inputs.resize(3);
  conv.inputs[1] = new_weight.name;
  conv.inputs[2] = new_bias.name;
  conv.outputs = {bn.outputs[0]};
  graph.tensors[new_weight.name] = std::move(new_weight);
  graph.tensors[new_bias.name] = std::move(new_bias);
}

}  // namespace

int FoldBatchNorm(Graph& graph) {
  int folded = 0;
  for (size_t i = 0; i < graph.ops.size();) {
    const Op& bn = graph.ops[i];
    const int conv_index = bn.type == "BatchNormalization" ? Producer(graph, bn.inputs[0]) : -1;
    if (bn.type != "BatchNormalization" || !Foldable(graph, bn, conv_index)) {
      ++i;
      continue;
    }
    const Op bn_copy = bn;
    Fold(graph, graph.ops[conv_index], bn_copy);
    graph.ops.erase(graph.ops.begin() + i);
    ++folded;
  }
  graph.RemoveUnusedTensors();
  return folded;
}

}  // namespace fleettune::graph
