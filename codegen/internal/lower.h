// The lowering pipeline, in two stages. LowerSchedule applies the decisions a Schedule
// recorded to its loop nest definition; op templates call it once per nest (Apply) and
// compose the nests. RunLoweringPasses then takes the template's whole nest through a fixed
// list of passes until codegen can take it (constant vectorized extents, no unrolled loops
// left).
#ifndef FLEETTUNE_CODEGEN_INTERNAL_LOWER_H_
#define FLEETTUNE_CODEGEN_INTERNAL_LOWER_H_

#include <string>

#include "absl/status/statusor.h"
#include "codegen/internal/ir.h"
#include "codegen/internal/schedule.h"

namespace fleettune::codegen {

// Applies `schedule` to `def`: the loop nest with every fuse and split, the order, the loop
// kinds, the packed inputs and the cache write. Checks what can only be checked once the
// order is final and fails with InvalidArgument naming the loop or input: a parallel loop
// must be the outermost loop and come from a non-reduction axis; a vectorized loop must be
// innermost; a loop's extent may only depend on loops outside it; a packed input must be read
// at one index; the cache write's conditions (see Schedule::CacheWrite).
absl::StatusOr<ir::Stmt> LowerSchedule(const LoopNestDef& def, const Schedule& schedule);

// Runs every pass in order. When `dump` is not null, appends the IR before the first pass
// and after each pass, each under a `// <pass name>` heading.
ir::Stmt RunLoweringPasses(const ir::Stmt& scheduled, std::string* dump);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_LOWER_H_
