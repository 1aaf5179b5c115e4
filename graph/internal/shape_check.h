// Shape checks the importer runs on each op beyond what ONNX's shape inference checks.
#ifndef FLEETTUNE_GRAPH_INTERNAL_SHAPE_CHECK_H_
#define FLEETTUNE_GRAPH_INTERNAL_SHAPE_CHECK_H_

#include "absl/status/status.h"
#include "graph/graph.h"

namespace fleettune::graph::internal {

// InvalidArgument naming the op, its type and the input when `op`'s input shapes disagree
// (a Conv's channels and its weight's, a bias or BatchNormalization parameter of the wrong
// length). Every tensor `op` names must be in `graph`.
absl::Status CheckOpShapes(const Graph& graph, const Op& op);

}  // namespace fleettune::graph::internal

#endif  // FLEETTUNE_GRAPH_INTERNAL_SHAPE_CHECK_H_
