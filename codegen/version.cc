#include "codegen/version.h"

#include <llvm/Config/llvm-config.h>

namespace fleettune::codegen {

std::string LlvmVersion() { return LLVM_VERSION_STRING; }

}  // namespace fleettune::codegen
