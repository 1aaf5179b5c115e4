#include "graph/internal/shape_check.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fleettune::graph::internal {
namespace {

std::string Label(const Op& op) { return absl::StrCat("node '", op.name, "' (", op.type, ")"); }

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

// Input `index` of `op`, when present, must have shape [length].
absl::Status CheckVector(const Graph& graph, const Op& op, size_t index, int64_t length) {
  if (index >= op.inputs.size() || op.inputs[index].empty()) return absl::OkStatus();
  const std::vector<int64_t>& shape = graph.tensor(op.inputs[index]).shape;
  if (shape.size() != 1 || shape[0] != length) {
    return absl::InvalidArgumentError(absl::StrCat(Label(op), ": input '", op.inputs[index],
                                                   "' has shape ", ShapeText(shape), ", expected [",
                                                   length, "]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckOpShapes(const Graph& graph, const Op& op) {
  for (const std::string& input : op.inputs) {
    if (!input.empty() && !graph.tensors.count(input)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Label(op), ": input '", input, "' has no static shape"));
    }
  }
  if (op.type == "Conv") {
    const std::vector<int64_t>& x = graph.tensor(op.inputs[0]).shape;
    const std::vector<int64_t>& w = graph.tensor(op.inputs[1]).shape;
    const int64_t group = op.IntAttr("group", 1);
    if (x.size() != w.size() || x.size() < 3 || x[1] != w[1] * group) {
      return absl::InvalidArgumentError(
          absl::StrCat(Label(op), ": input '", op.inputs[0], "' of shape ", ShapeText(x),
                       " does not match weight '", op.inputs[1], "' of shape ", ShapeText(w),
                       " with group ", group));
    }
    return CheckVector(graph, op, 2, w[0]);
  }
  if (op.type == "BatchNormalization") {
    const std::vector<int64_t>& x = graph.tensor(op.inputs[0]).shape;
    if (x.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(Label(op), ": input '", op.inputs[0], "' has fewer than 2 dimensions"));
    }
    for (size_t i = 1; i < op.inputs.size() && i < 5; ++i) {
      if (absl::Status s = CheckVector(graph, op, i, x[1]); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace fleettune::graph::internal
