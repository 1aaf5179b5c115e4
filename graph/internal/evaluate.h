// Evaluation of constant subgraphs: what FoldConstants folds and what the importer needs to
// know a Reshape's shape when ONNX's shape inference cannot tell it.
#ifndef FLEETTUNE_GRAPH_INTERNAL_EVALUATE_H_
#define FLEETTUNE_GRAPH_INTERNAL_EVALUATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace fleettune::graph::internal {

// The values of `op`'s output (of shape `out_shape`) when `op` is a Reshape, Flatten, Add or
// Mul (numpy broadcasting) whose inputs `inputs` gives, in order; nullopt for other ops.
std::optional<std::vector<float>> EvaluateOp(const Op& op, const std::vector<const Tensor*>& inputs,
                                             const std::vector<int64_t>& out_shape);

// The value of tensor `name`: its data when constant, else computed through EvaluateOp from
// the ops of `graph` that write it when their inputs are (recursively) constant; nullopt
// otherwise.
std::optional<std::vector<float>> ConstantValue(const Graph& graph, const std::string& name);

// ONNX Reshape's output shape for input shape `in` and target `shape` (0 copies the input's
// dimension, one -1 takes what is left). InvalidArgument when the counts do not match.
absl::StatusOr<std::vector<int64_t>> ReshapeTarget(const std::vector<int64_t>& in,
                                                   const std::vector<float>& shape);

}  // namespace fleettune::graph::internal

#endif  // FLEETTUNE_GRAPH_INTERNAL_EVALUATE_H_
