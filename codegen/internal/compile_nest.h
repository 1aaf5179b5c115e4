// Emission, optimisation and linking of a lowered loop nest: the back half every build shares
// (tuned templates, references, a network's simple ops and its layers).
#ifndef FLEETTUNE_CODEGEN_INTERNAL_COMPILE_NEST_H_
#define FLEETTUNE_CODEGEN_INTERNAL_COMPILE_NEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/build.h"
#include "codegen/checked_target.h"
#include "codegen/internal/ir.h"

namespace fleettune::codegen {

// OK when `symbol` is a C identifier (what every exported kernel and network entry must be);
// InvalidArgument naming it otherwise.
absl::Status CheckSymbol(const std::string& symbol);

// The declaring half of a generated C header: include guard `guard`, <stdint.h> and
// `int32_t <symbol>(void* const* args);` with C linkage. Callers put their comment first.
std::string KernelDeclaration(const std::string& guard, const std::string& symbol);

// Emits `lowered` as `int32_t <options.symbol>(void* const* args)` reading `buffers` in ABI
// order, runs O3 for the target and links a shared object; with options.object_only it stops
// at the relocatable object, the symbol hidden (see BuildOptions). Fills shared_object,
// symbol, needs_gomp, llvm_seconds and link_seconds of `kernel`; appends to its ir_dump when
// options.dump_ir. Internal error with LLVM's or lld's message. Thread-safe.
absl::StatusOr<BuiltKernel> CompileNest(const ir::Stmt& lowered,
                                        const std::vector<std::string>& buffers,
                                        const CheckedTarget& target, const BuildOptions& options,
                                        BuiltKernel kernel);

// Links relocatable objects for `target` into one shared object named `soname`; with
// `needs_gomp`, against the host's libgomp, or a stand-in libgomp.so.1 when the target is
// another architecture (the board's libgomp provides the symbols at load time).
absl::StatusOr<std::string> LinkObjects(std::vector<std::string> objects, const std::string& soname,
                                        bool needs_gomp, const v1::Target& target);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_COMPILE_NEST_H_
