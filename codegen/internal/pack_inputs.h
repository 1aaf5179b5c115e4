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

// A template's scheduled nest with the packing of `pack.buffer` taken out, for an input
// packed once at build time (BuildOptions::prepacked_inputs): the heap allocation of
// pack.packed and its packing nest are gone, and the body reads the kernel's argument
// `pack.buffer`, which holds the packed layout (pack.size elements), at the packed index.
// `pack` is the PackSpec the template applied; a nest without exactly one allocation of
// pack.packed that starts with pack.pack_nest is a compiler bug (abort).
ir::Stmt ReadPrepackedInput(const ir::Stmt& scheduled, const PackSpec& pack);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_PACK_INPUTS_H_
