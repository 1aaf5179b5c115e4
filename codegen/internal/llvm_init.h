// One-time registration of every LLVM backend this LLVM was built with.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_LLVM_INIT_H_
#define FLEETTUNE_CODEGEN_INTERNAL_LLVM_INIT_H_

namespace fleettune::codegen::internal {

// Registers all targets, their MC layers and asm printers. Idempotent and thread-safe.
void InitializeLLVM();

}  // namespace fleettune::codegen::internal

#endif  // FLEETTUNE_CODEGEN_INTERNAL_LLVM_INIT_H_
