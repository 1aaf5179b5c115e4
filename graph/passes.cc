// The pass list and DumpGraph.
#include "graph/passes.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fleettune::graph {
namespace {

std::string TensorText(const Graph& graph, const std::string& name) {
  if (name.empty()) return "-";
  const Tensor& tensor = graph.tensor(name);
  return absl::StrCat(name, "[", absl::StrJoin(tensor.shape, ","), "]",
                      tensor.constant ? " const" : "");
}

std::string TensorList(const Graph& graph, const std::vector<std::string>& names) {
  std::vector<std::string> parts;
  for (const std::string& name : names) parts.push_back(TensorText(graph, name));
  return absl::StrJoin(parts, ", ");
}

}  // namespace

std::string DumpGraph(const Graph& graph) {
  std::string text = absl::StrCat("inputs: ", TensorList(graph, graph.inputs), "\n");
  absl::StrAppend(&text, "outputs: ", TensorList(graph, graph.outputs), "\n");
  for (const Op& op : graph.ops) {
    absl::StrAppend(&text, op.name, ": ", op.type, "(", TensorList(graph, op.inputs), ") -> ",
                    TensorList(graph, op.outputs));
    for (const auto& [key, values] : op.int_attrs) {
      absl::StrAppend(&text, " ", key, "=", absl::StrJoin(values, ","));
    }
    for (const auto& [key, value] : op.float_attrs) absl::StrAppend(&text, " ", key, "=", value);
    absl::StrAppend(&text, "\n");
  }
  return text;
}

void RunPasses(Graph& graph,
               const std::function<void(const std::string&, const Graph&)>& after_pass) {
  const std::vector<std::pair<std::string, int (*)(Graph&)>> passes = {
      {"FoldConstants", FoldConstants},
      {"FoldBatchNorm", FoldBatchNorm},
      {"DropNoOpReshapes", DropNoOpReshapes},
      {"FuseEpilogues", FuseEpilogues},
  };
  for (const auto& [name, pass] : passes) {
    pass(graph);
    if (after_pass) after_pass(name, graph);
  }
}

}  // namespace fleettune::graph
