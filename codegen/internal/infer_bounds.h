// Bound inference: the extent of every loop of a schedule, as TVM's InferBound does for a
// stage. A helper of LowerSchedule, not a lowering pass: it reads a schedule and rewrites no
// IR. ResolveSchedule (scheduled_nest.h) takes the plain extents of every loop from it before
// the loop nest is built; the cache write (cache_write.h) the extents inside a full tile.
//
// Each axis starts with its declared extent; a split of an extent E by f gives the outer loop
// ceil(E / f) iterations and the inner loop f when f divides E, else min(f, E - outer * f)
// (the last tile is partial). Inside a register tile (`in_tile` set, for a cache write), a
// spatial split whose inner loop lies in the tile takes the full factor instead, and what must
// hold for the tile at hand to be full (E - outer * f >= f) goes to `conditions`; for the
// `overcompute` axes it goes to `store_conditions` instead: their partial tiles are computed in
// full and only stored in part.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_INFER_BOUNDS_H_
#define FLEETTUNE_CODEGEN_INTERNAL_INFER_BOUNDS_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "codegen/internal/ir.h"
#include "codegen/internal/schedule.h"

namespace fleettune::codegen {

struct ExtentContext {
  const LoopNestDef& def;
  const Schedule& schedule;
  std::function<bool(const std::string&)> in_tile;  // null: plain extents
  std::map<std::string, bool> reduction;            // loop (and axis) -> is a reduction
  std::set<std::string> overcompute = {};
};

// Extents of every loop ever named by the schedule's splits (and of the axes).
std::map<std::string, ir::Expr> InferBounds(const ExtentContext& context,
                                            std::vector<ir::Expr>* conditions,
                                            std::vector<ir::Expr>* store_conditions = nullptr);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_INFER_BOUNDS_H_
