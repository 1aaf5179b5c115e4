// From an emitted LLVM module to object code for a target: target machine, O3, object file.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_LLVM_BACKEND_H_
#define FLEETTUNE_CODEGEN_INTERNAL_LLVM_BACKEND_H_

#include <string>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace llvm {
class Module;
}  // namespace llvm

namespace fleettune::codegen {

// Creates a PIC TargetMachine for `target`, stamps the module with its triple, data layout,
// CPU and features, verifies it, runs the new pass manager's O3 pipeline, verifies again and
// returns the ELF relocatable object. When `ir_dump` is not null, appends the optimised IR.
// Internal error (with LLVM's message) on failure. Thread-safe for distinct modules.
absl::StatusOr<std::string> CompileToObject(llvm::Module* module, const v1::Target& target,
                                            std::string* ir_dump);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_LLVM_BACKEND_H_
