// Schedules as data: the loop transformations an op template applies to one loop nest.
//
// A LoopNestDef is a computation over named axes (the body refers to each axis as a Var).
// A Schedule only *records* decisions (splits, the final loop order, loop kinds) after
// checking their preconditions; LowerSchedule (lower.h) applies them and produces the loop nest.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_SCHEDULE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_SCHEDULE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "codegen/internal/ir.h"

namespace fleettune::codegen {

struct Axis {
  std::string name;
  int64_t extent = 1;
  bool is_reduction = false;  // a reduction axis can never run in parallel
};

struct LoopNestDef {
  std::vector<Axis> axes;  // default order: outermost first
  ir::Stmt body;           // one iteration; refers to each axis by a Var of its name
};

// One split: loop `loop` becomes `outer` (ceil(extent / factor) iterations) around `inner`
// (factor iterations, fewer in the last tile when factor does not divide the extent).
struct Split {
  std::string loop;
  int64_t factor;
  std::string outer;
  std::string inner;
};

// Cache write (TVM's cache_write + compute_at): the output tile computed inside loop `at`
// accumulates in a stack buffer `local` (registers after LLVM's SROA), then is written to
// `output` once per tile, through `epilogue` when given. `epilogue` is a float expression over
// the axes in which `Load(kEpilogueValue, 0)` stands for the finished value (e.g. bias + ReLU).
//
// Along `overcompute_axes` (spatial axes), a tile that runs past the edge is still computed in
// full in registers and only its part inside the output is stored: the caller promises that
// every read indexed by such an axis stays in bounds past the edge (e.g. a packed input padded
// to whole tiles). Along other axes, partial tiles take an uncached path.
struct CacheWriteSpec {
  std::string at;
  std::string output;
  std::string local;
  ir::Expr epilogue;  // may be null
  std::vector<std::string> overcompute_axes;
};

// The placeholder buffer of CacheWriteSpec::epilogue.
inline constexpr char kEpilogueValue[] = "__value";

// Packing an input into a blocked layout: `pack_nest` (a finished loop nest) copies `buffer`
// into a heap buffer `packed` of `size` elements before the computation, and every load of
// `buffer` in the body reads `packed[packed_index]` instead: an expression over the axes and
// the loops the schedule splits them into (e.g. a panel loop `j.outer`). With `at` set to a
// loop of the final nest, `pack_nest` runs at the start of every iteration of that loop
// instead (it may read the loop's variable) and refills the same buffer: a panel packed right
// before the loop uses it, while it is still in cache.
struct PackSpec {
  std::string buffer;
  std::string packed;
  int64_t size = 0;
  ir::Expr packed_index;
  ir::Stmt pack_nest;
  std::string at;
};

// One fuse: adjacent loops `outer` and `inner` (axes of the nest, not split yet) become one
// loop `fused` of extent outer x inner; the axes are recovered as fused / inner_extent and
// fused % inner_extent.
struct Fuse {
  std::string outer;
  std::string inner;
  std::string fused;
  int64_t inner_extent;
};

class Schedule {
 public:
  explicit Schedule(const LoopNestDef& def);

  // Each primitive checks its preconditions first and fails with InvalidArgument naming the
  // offending loop, leaving the schedule unchanged.
  absl::Status SplitLoop(const std::string& loop, int64_t factor, const std::string& outer,
                         const std::string& inner);
  // Fuses two axes that are adjacent loops, `outer` just outside `inner`, into one loop
  // `fused` (e.g. to give a parallel loop more iterations); both must be spatial or both
  // reductions, and not split yet (fuse first; the fused loop may be split).
  absl::Status FuseLoops(const std::string& outer, const std::string& inner,
                         const std::string& fused);
  // Tiles two adjacent loops, `y` just outside `x`: splits each (y.outer, y.inner and
  // x.outer, x.inner) and orders them y.outer, x.outer, y.inner, x.inner.
  absl::Status Tile(const std::string& y, const std::string& x, int64_t y_factor, int64_t x_factor);
  // `order` must be a permutation of the current loops, outermost first.
  absl::Status Reorder(const std::vector<std::string>& order);
  absl::Status Vectorize(const std::string& loop) {
    return SetKind(loop, ir::ForKind::kVectorized);
  }
  absl::Status Unroll(const std::string& loop) { return SetKind(loop, ir::ForKind::kUnrolled); }
  absl::Status Parallel(const std::string& loop) { return SetKind(loop, ir::ForKind::kParallel); }
  // Accumulates the tile of `output` computed inside `loop` in a local buffer (see
  // CacheWriteSpec). One per schedule. Lowering checks the rest: `loop` must still be a loop
  // of the final order (not split or fused afterwards); the body must be a reduction
  // `output[i] = output[i] + x`; every spatial loop inside `loop` needs a constant extent for
  // full tiles (partial tiles take an uncached path); an epilogue needs every reduction loop
  // inside `loop`.
  absl::Status CacheWrite(const std::string& loop, const std::string& output,
                          const std::string& local, ir::Expr epilogue = nullptr,
                          std::vector<std::string> overcompute_axes = {});
  // Packs an input (see PackSpec). One per input buffer.
  absl::Status PackInput(PackSpec pack);

  // The current loops, outermost first.
  const std::vector<std::string>& loops() const { return loops_; }
  const std::vector<Split>& splits() const { return splits_; }
  const std::vector<Fuse>& fuses() const { return fuses_; }
  ir::ForKind KindOf(const std::string& loop) const;
  const CacheWriteSpec* cache_write() const { return cache_write_ ? &*cache_write_ : nullptr; }
  const std::vector<PackSpec>& packs() const { return packs_; }
  // The axis a loop was split from (the loop itself for an unsplit axis).
  std::string RootAxisOf(const std::string& loop) const;

 private:
  absl::Status SetKind(const std::string& loop, ir::ForKind kind);
  bool HasLoop(const std::string& loop) const;

  std::vector<Axis> axes_;
  std::vector<std::string> loops_;
  std::vector<Split> splits_;
  std::vector<Fuse> fuses_;
  std::map<std::string, ir::ForKind> kinds_;
  std::map<std::string, std::string> parent_;  // split loop -> loop it came from
  std::optional<CacheWriteSpec> cache_write_;
  std::vector<PackSpec> packs_;
};

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_SCHEDULE_H_
