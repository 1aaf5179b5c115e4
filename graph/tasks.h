// The tunable workloads of a graph: each Conv, Gemm and MatMul as a codegen workload string.
#ifndef FLEETTUNE_GRAPH_TASKS_H_
#define FLEETTUNE_GRAPH_TASKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_workload.h"
#include "graph/graph.h"
#include "graph/onnx_import.h"

namespace fleettune::graph {

// One distinct workload of the graph.
struct Task {
  std::string workload;          // canonical key (codegen::CheckedWorkload::key())
  int count = 0;                 // ops of the graph with this workload
  double flops = 0;              // one run's FLOPs (codegen::CheckedWorkload::Flops())
  double share = 0;              // count * flops over the sum of all tasks' count * flops
  std::vector<std::string> ops;  // the ops' names, in graph order
};

// An op of a tunable type that no workload expresses, and why.
struct UntunableOp {
  std::string op;
  std::string type;
  std::string reason;
};

struct Tasks {
  std::vector<Task> tasks;  // by share, largest first (ties: by workload key)
  std::vector<UntunableOp> untunable;
};

// The workload of one op: NotFound for an op type that is not tunable (not Conv, Gemm or
// MatMul), InvalidArgument with the reason for one of those types no workload expresses
// (the rules below).
absl::StatusOr<codegen::CheckedWorkload> OpWorkload(const Graph& graph, const Op& op);

// Maps each Conv (group 1: conv2d; group == channels == filters: depthwise_conv2d; equal
// strides, symmetric equal pads, equal dilations), Gemm (matmul; transA/transB read from the
// shapes; a bias C of [n] or [1,n] as bias=1; alpha = beta = 1) and MatMul (2-D: matmul; equal
// batch dimensions: batch_matmul; a 2-D right operand folds the left's batch into m; a bias
// inputs[2] as Gemm's) to its workload. A fused epilogue (FuseEpilogues' attributes) adds
// relu=1 (fused_activation 1), residual=1 (fused_residual 1, inputs[3] shaped like the output)
// and relu6=1 (fused_activation 2). Anything else of those types is listed in `untunable` with the
// reason. Other op types are not tunable and not listed. Thread-safe.
Tasks ExtractTasks(const Graph& graph);

// The tasks of the ONNX model at `path` as `fleettune tasks --model` lists them: ImportOnnx
// (its errors), the graph passes, then ExtractTasks.
absl::StatusOr<Tasks> ModelFileTasks(const std::string& path, const InputShapes& input_shapes);

}  // namespace fleettune::graph

#endif  // FLEETTUNE_GRAPH_TASKS_H_
