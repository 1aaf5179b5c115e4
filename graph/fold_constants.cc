// FoldConstants: ops whose inputs are all constant become constant tensors.
#include <algorithm>

#include "graph/internal/evaluate.h"
#include "graph/passes.h"

namespace fleettune::graph {
namespace {

// Evaluates `op` into its output tensor when its inputs are all constant and its type is one
// EvaluateOp knows; false otherwise.
bool Evaluate(Graph& graph, const Op& op) {
  if (op.outputs.size() != 1) return false;
  std::vector<const Tensor*> inputs;
  for (const std::string& name : op.inputs) {
    if (name.empty()) continue;
    if (!graph.IsConstant(name)) return false;
    inputs.push_back(&graph.tensor(name));
  }
  Tensor& out = graph.tensor(op.outputs[0]);
  std::optional<std::vector<float>> value = internal::EvaluateOp(op, inputs, out.shape);
  if (!value) return false;
  out.data = *std::move(value);
  out.constant = true;
  return true;
}

}  // namespace

int FoldConstants(Graph& graph) {
  int changed = 0;
  for (size_t i = 0; i < graph.ops.size();) {
    Op& op = graph.ops[i];
    if (Evaluate(graph, op)) {
      graph.ops.erase(graph.ops.begin() + i);
      ++changed;
      continue;
    }
    if (op.type == "Reshape" && op.inputs.size() == 2 && graph.IsConstant(op.inputs[1])) {
      op.int_attrs["shape"] = graph.tensor(op.outputs[0]).shape;
      op.inputs.resize(1);
      ++changed;
    }
    ++i;
  }
  graph.RemoveUnusedTensors();
  return changed;
}

}  // namespace fleettune::graph
