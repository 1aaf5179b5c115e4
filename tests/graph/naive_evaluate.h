// A naive evaluation of a graph for the network tests: direct loops in double, no tiling.
#ifndef FLEETTUNE_TESTS_GRAPH_NAIVE_EVALUATE_H_
#define FLEETTUNE_TESTS_GRAPH_NAIVE_EVALUATE_H_

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace fleettune::graph {

// The values of every tensor of `graph` given its inputs' values: Conv (groups, strides,
// symmetric pads, dilations, bias, fused_activation and fused_residual), Gemm, 2-D MatMul,
// Relu, Clip (attributes), Add and Mul of equal shapes, MaxPool, GlobalAveragePool, and
// Flatten/Reshape/Identity. Fails the test (ADD_FAILURE) on another op.
std::map<std::string, std::vector<float>> NaiveEvaluate(
    const Graph& graph, const std::map<std::string, std::vector<float>>& inputs);

}  // namespace fleettune::graph

#endif  // FLEETTUNE_TESTS_GRAPH_NAIVE_EVALUATE_H_
