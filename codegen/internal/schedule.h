// Schedules as data: the loop transformations an op template applies to one loop nest.
//
// A LoopNestDef is a computation over named axes (the body refers to each axis as a Var).
// A Schedule only *records* decisions (splits, the final loop order, loop kinds) after
// checking their preconditions; LowerSchedule applies them and produces the loop nest.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_SCHEDULE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_SCHEDULE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

class Schedule {
 public:
  explicit Schedule(const LoopNestDef& def);

  // Each primitive checks its preconditions first and fails with InvalidArgument naming the
  // offending loop, leaving the schedule unchanged.
  absl::Status SplitLoop(const std::string& loop, int64_t factor, const std::string& outer,
                         const std::string& inner);
  // `order` must be a permutation of the current loops, outermost first.
  absl::Status Reorder(const std::vector<std::string>& order);
  absl::Status Vectorize(const std::string& loop) {
    return SetKind(loop, ir::ForKind::kVectorized);
  }
  absl::Status Unroll(const std::string& loop) { return SetKind(loop, ir::ForKind::kUnrolled); }
  absl::Status Parallel(const std::string& loop) { return SetKind(loop, ir::ForKind::kParallel); }

  // The current loops, outermost first.
  const std::vector<std::string>& loops() const { return loops_; }
  const std::vector<Split>& splits() const { return splits_; }
  ir::ForKind KindOf(const std::string& loop) const;
  // The axis a loop was split from (the loop itself for an unsplit axis).
  std::string RootAxisOf(const std::string& loop) const;

 private:
  absl::Status SetKind(const std::string& loop, ir::ForKind kind);
  bool HasLoop(const std::string& loop) const;

  std::vector<Axis> axes_;
  std::vector<std::string> loops_;
  std::vector<Split> splits_;
  std::map<std::string, ir::ForKind> kinds_;
  std::map<std::string, std::string> parent_;  // split loop -> loop it came from
};

// Applies `schedule` to `def`: the loop nest with every split, the order and loop kinds.
// Checks what can only be checked once the order is final: a parallel loop must be the
// outermost loop and come from a non-reduction axis; a vectorized loop must be innermost.
absl::StatusOr<ir::Stmt> LowerSchedule(const LoopNestDef& def, const Schedule& schedule);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_SCHEDULE_H_
