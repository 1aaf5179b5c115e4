// Graph passes: rewrites of a Graph that keep what it computes (docs/graph.md). Each pass is
// one file; RunPasses applies them in the order the graph compiler uses.
#ifndef FLEETTUNE_GRAPH_PASSES_H_
#define FLEETTUNE_GRAPH_PASSES_H_

#include <functional>
#include <string>

#include "graph/graph.h"

namespace fleettune::graph {

// Folds each BatchNormalization whose input is a Conv's output read by nothing else, with
// constant weights and parameters, into that Conv: new weights W*s and bias (b - mean)*s + beta
// per output channel, s = scale / sqrt(var + epsilon). The Conv then writes the BN's output.
// Returns how many were folded.
int FoldBatchNorm(Graph& graph);

// Evaluates ops whose inputs are all constant (Reshape, Flatten, Add, Mul with broadcasting)
// into constant tensors, and folds a Reshape's constant shape input into the op (the Reshape
// then has one input; its output shape is the target). Returns how many ops changed.
int FoldConstants(Graph& graph);

// Drops each Reshape/Flatten whose output shape equals its input shape, its readers reading
// the input instead (kept when its output is a graph output). Returns how many were dropped.
int DropNoOpReshapes(Graph& graph);

// Fuses the elementwise tail of each Conv, Gemm and MatMul that has a workload (OpWorkload)
// into the op, in this order, each step optional: an Add of a constant per-channel bias into
// a bias-less op ([k,1,1] or [1,k,1,1] for a Conv, [n] or [1,n] for a Gemm with beta 1 or a
// MatMul; it becomes inputs[2], shape [k] or [n]); an Add of a tensor shaped exactly like the
// output, either operand order (attribute fused_residual=1, the tensor at inputs[3], inputs[2]
// the bias or ""); a Relu (fused_activation=1) or a Clip to exactly [0, 6] (fused_activation=2;
// bounds from attributes before opset 11, constant inputs after). Each absorbed op's input
// from the chain must have no other reader and not be a graph output. The fused op takes the
// place of the last op it absorbs and writes its output. Returns how many ops were absorbed.
int FuseEpilogues(Graph& graph);

// The graph as text: one line per op, `name: Type(in[shape], ...) -> out[shape] attrs`, with
// `const` after constant inputs; the graph's inputs and outputs first.
std::string DumpGraph(const Graph& graph);

// Runs the passes in order (FoldConstants, FoldBatchNorm, DropNoOpReshapes, FuseEpilogues);
// after each, calls `after_pass` (when set) with the pass's name and the graph.
void RunPasses(Graph& graph,
               const std::function<void(const std::string&, const Graph&)>& after_pass = {});

}  // namespace fleettune::graph

#endif  // FLEETTUNE_GRAPH_PASSES_H_
