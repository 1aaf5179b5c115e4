// The version of the LLVM that fleettune's code generator is built with, for the tuning
// database's records (a schedule tuned with one compiler may not carry over to another).
#ifndef FLEETTUNE_CODEGEN_VERSION_H_
#define FLEETTUNE_CODEGEN_VERSION_H_

#include <string>

namespace fleettune::codegen {

// LLVM's version string, e.g. "14.0.6". Thread-safe.
std::string LlvmVersion();

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_VERSION_H_
