#include "codegen/internal/llvm_init.h"

#include <mutex>

#include "llvm/Support/TargetSelect.h"

namespace fleettune::codegen::internal {

void InitializeLLVM() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

}  // namespace fleettune::codegen::internal
