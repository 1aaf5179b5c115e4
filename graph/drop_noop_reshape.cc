// DropNoOpReshapes: a Reshape or Flatten that keeps its input's shape is a copy; drop it.
#include <algorithm>

#include "graph/passes.h"

namespace fleettune::graph {

int DropNoOpReshapes(Graph& graph) {
  int dropped = 0;
  for (size_t i = 0; i < graph.ops.size();) {
    const Op& op = graph.ops[i];
    const bool reshape = op.type == "Reshape" || op.type == "Flatten";
    if (!reshape || op.outputs.size() != 1 ||
        std::count(graph.outputs.begin(), graph.outputs.end(), op.outputs[0]) > 0 ||
        graph.tensor(op.inputs[0]).shape != graph.tensor(op.outputs[0]).shape) {
      ++i;
      continue;
    }
    const std::string from = op.outputs[0];
    const std::string to = op.inputs[0];
    graph.ops.erase(graph.ops.begin() + i);
    for (Op& reader : graph.ops) {
      std::replace(reader.inputs.begin(), reader.inputs.end(), from, to);
    }
    ++dropped;
  }
  graph.RemoveUnusedTensors();
  return dropped;
}

}  // namespace fleettune::graph
