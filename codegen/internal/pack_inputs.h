// The input-packing steps of LowerSchedule (see PackSpec): the body reads each packed input
// from its packed copy, and the loop nest runs inside the packed copies' heap allocations,
// each filled by its packing nest first.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_PACK_INPUTS_H_
#define FLEETTUNE_CODEGEN_INTERNAL_PACK_INPUTS_H_

#include "absl/status/statusor.h"
#include "codegen/internal/ir.h"
#include "codegen/internal/scheduled_nest.h"

namespace fleettune::codegen {

// nest.def.body with every load of a packed input reading `packed[packed_index]` instead (the
// packed index rewritten to the final loops). InvalidArgument naming the input when the body
// does not read it, or reads it at more than one index.
absl::StatusOr<ir::Stmt> ReadPackedInputs(const ScheduledNest& nest);

// `loop_nest` inside one heap allocation per packed input, the first packed input outermost;
// each allocation runs its packing nest before what it encloses.
ir::Stmt AllocatePackedInputs(const Schedule& schedule, ir::Stmt loop_nest);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_PACK_INPUTS_H_
