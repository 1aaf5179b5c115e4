// From a graph to the network codegen builds as one shared object (codegen/network.h): which
// ops are tuned layers and with which config, which are simple ops, where each tensor lives.
#ifndef FLEETTUNE_GRAPH_BUILD_NETWORK_H_
#define FLEETTUNE_GRAPH_BUILD_NETWORK_H_

#include <functional>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/network.h"
#include "fleettune/v1/fleettune.pb.h"
#include "graph/graph.h"

namespace fleettune::graph {

// The config to build a tuned layer's workload with (the caller reads the tuning database;
// graph/ does not). Called once per tuned op, in graph order, on the calling thread.
using ConfigLookup =
    std::function<absl::StatusOr<v1::Config>(const codegen::CheckedWorkload& workload)>;

// The network of `graph` after RunPasses:
// - graph inputs and outputs are the entry's arguments (inputs in graph order, then outputs);
//   constants are weights; other tensors are intermediates placed by PlanMemory;
// - each op with a workload (OpWorkload) is a tuned layer reading data/weight/bias/residual
//   (Conv) or A/B/bias/residual (Gemm, MatMul), with the config `lookup` gives; a Gemm's
//   transposed constant operand is transposed here, a transposed non-constant one makes the
//   Gemm a simple op;
// - Reshape, Flatten and Identity copy their input; every other op is a codegen::SimpleOp;
// - a graph output that is a graph input or a constant is copied into its argument; an op
//   writing a graph output writes the argument directly.
// InvalidArgument naming the op for an op no layer builds (CheckSimpleOp's reason), an op
// with more than one used output, or fused attributes its workload does not express; the
// status of `lookup` (with the op's name) when it fails. Does not modify `graph`.
absl::StatusOr<codegen::NetworkSpec> MakeNetworkSpec(const Graph& graph,
                                                     const codegen::CheckedTarget& target,
                                                     const ConfigLookup& lookup);

}  // namespace fleettune::graph

#endif  // FLEETTUNE_GRAPH_BUILD_NETWORK_H_
