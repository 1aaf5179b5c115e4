// A memory plan for a graph's intermediate tensors: which buffer of one arena each lives in,
// so that tensors live at the same time never share memory (docs/graph.md).
//
// Intermediates are op outputs that are neither constants nor graph inputs or outputs (those
// the caller owns). A tensor is live from the op that writes it to the last op that reads it,
// both inclusive, ops numbered in the graph's topological order: an op's output never shares
// memory with its inputs (no in-place ops). Plain values; PlanMemory only reads the graph.
#ifndef FLEETTUNE_GRAPH_PLAN_MEMORY_H_
#define FLEETTUNE_GRAPH_PLAN_MEMORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace fleettune::graph {

// Every buffer size and offset is a multiple of this: generated kernels may assume their
// intermediate operands are 64-byte aligned (one cache line, one AVX-512 vector).
inline constexpr int64_t kBufferAlignment = 64;

struct PlannedTensor {
  std::string name;
  int first_op = 0;    // index in Graph::ops of the op that writes it
  int last_op = 0;     // index of the last op that reads it (first_op when nothing reads it)
  int64_t bytes = 0;   // float32 size rounded up to kBufferAlignment
  int buffer = 0;      // index into MemoryPlan::buffers
  int64_t offset = 0;  // byte offset in the arena: its buffer's offset
};

struct PlannedBuffer {
  int64_t offset = 0;  // in the arena; buffers lie back to back
  int64_t bytes = 0;   // the largest tensor assigned to it
};

struct MemoryPlan {
  std::vector<PlannedTensor> tensors;  // in the order their ops write them
  std::vector<PlannedBuffer> buffers;
  int64_t arena_bytes = 0;  // the plan's peak: the sum of the buffers' sizes
  int64_t naive_bytes = 0;  // the sum of every intermediate's size (a buffer each)

  // The tensor named `name`, or nullptr when it is not an intermediate.
  const PlannedTensor* Find(const std::string& name) const;
};

// Plans `graph`'s intermediates (see the file comment and plan_memory.cc for the algorithm).
// Deterministic: the same graph gives the same plan.
MemoryPlan PlanMemory(const Graph& graph);

// One line for users: `memory: N intermediates, peak P bytes in B buffers, naive sum S bytes
// (peak is X% of naive)`.
std::string MemoryPlanSummary(const MemoryPlan& plan);

}  // namespace fleettune::graph

#endif  // FLEETTUNE_GRAPH_PLAN_MEMORY_H_
