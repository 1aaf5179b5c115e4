// The cache-write step of LowerSchedule (see CacheWriteSpec, recorded by Schedule::CacheWrite):
// the body of the cached loop becomes a tile that accumulates in a local buffer and is written
// to the output once, through the epilogue when there is one.
//
// A full tile: allocate the local tile on the stack, zero it, run the loops inside the cached
// loop accumulating into it, then write it back. Where the tile at hand may be partial (a
// split inside the tile that does not divide its axis), a test picks the full tile or the
// uncached nest straight into the output; along an overcompute axis the partial tile is
// computed in full too and only its part inside the output is stored, through a spill buffer
// so that the local tile keeps constant indices (what LLVM's SROA needs to keep it in
// registers).
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CACHE_WRITE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CACHE_WRITE_H_

#include "absl/status/statusor.h"
#include "codegen/internal/ir.h"
#include "codegen/internal/scheduled_nest.h"

namespace fleettune::codegen {

// `loop_nest` (BuildLoopNest of `body`) with the body of the cached loop replaced by the
// cached tile; the loops around it keep their headers. `loop_nest` unchanged when the
// schedule has no cache write. InvalidArgument naming the cached loop when a precondition
// that only the final loop order shows fails (see Schedule::CacheWrite).
absl::StatusOr<ir::Stmt> ApplyCacheWrite(const ScheduledNest& nest, const ir::Stmt& body,
                                         const ir::Stmt& loop_nest);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_CACHE_WRITE_H_
