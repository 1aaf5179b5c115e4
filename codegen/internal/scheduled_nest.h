// A loop nest definition with its schedule's fuses and splits resolved: the final loops, the
// extent of each, and each axis's value in terms of them. Every step of LowerSchedule
// (lower.cc) reads it; ResolveSchedule builds it once and nothing changes it afterwards.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_SCHEDULED_NEST_H_
#define FLEETTUNE_CODEGEN_INTERNAL_SCHEDULED_NEST_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "codegen/internal/ir.h"
#include "codegen/internal/schedule.h"

namespace fleettune::codegen {

struct ScheduledNest {
  const Schedule& schedule;
  // The definition with each fuse applied: a fused axis takes its outer axis's place and the
  // body reads both axes back from it.
  LoopNestDef def;
  // Each axis fused away -> its value in terms of the fused axis.
  std::map<std::string, ir::Expr> fused_values;
  // Each axis of `def` -> its value in terms of the final loops (e.g. `i.o*4 + i.i`).
  std::map<std::string, ir::Expr> axis_values;
  // Each axis and every loop its splits name -> whether it iterates a reduction.
  std::map<std::string, bool> reduction;
  // Each axis and every loop its splits name -> its extent (InferBounds, plain extents).
  std::map<std::string, ir::Expr> extents;
};

// Applies the schedule's fuses to `def`, then infers the extent of every loop. The result
// refers to `schedule`, which must outlive it.
ScheduledNest ResolveSchedule(const LoopNestDef& def, const Schedule& schedule);

// Checks what only the final loop order shows, failing with InvalidArgument naming the loop:
// a parallel loop must be the outermost loop and come from a non-reduction axis; a vectorized
// loop must be innermost; a loop's extent may only depend on loops outside it.
absl::Status CheckLoopOrder(const ScheduledNest& nest);

// `body` (one iteration over the axes of nest.def) inside every final loop, outermost first,
// each with its extent and kind.
ir::Stmt BuildLoopNest(const ScheduledNest& nest, const ir::Stmt& body);

// Helpers the steps share.
// `body` inside `loops` (outermost first), each with its extent in `extents` and its kind.
ir::Stmt WrapLoops(const std::vector<std::string>& loops,
                   const std::map<std::string, ir::Expr>& extents, const Schedule& schedule,
                   ir::Stmt body);
// Replaces every axis named in `axis_values` by its value.
ir::Expr SubstituteAxes(ir::Expr e, const std::map<std::string, ir::Expr>& axis_values);
ir::Stmt SubstituteAxes(ir::Stmt s, const std::map<std::string, ir::Expr>& axis_values);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_SCHEDULED_NEST_H_
