// The lowering pipeline: the scheduled loop nest of a template goes through a fixed list of
// passes until codegen can take it (constant vectorized extents, no unrolled loops left).
#ifndef FLEETTUNE_CODEGEN_INTERNAL_LOWER_H_
#define FLEETTUNE_CODEGEN_INTERNAL_LOWER_H_

#include <string>

#include "codegen/internal/ir.h"

namespace fleettune::codegen {

// Runs every pass in order. When `dump` is not null, appends the IR before the first pass
// and after each pass, each under a `// <pass name>` heading.
ir::Stmt RunLoweringPasses(const ir::Stmt& scheduled, std::string* dump);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_LOWER_H_
