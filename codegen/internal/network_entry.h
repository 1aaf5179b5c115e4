// The object of a network that is not a layer: its weights and its entry function.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_NETWORK_ENTRY_H_
#define FLEETTUNE_CODEGEN_INTERNAL_NETWORK_ENTRY_H_

#include <string>

#include "absl/status/statusor.h"
#include "codegen/network.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// The name of layer `index`'s kernel in a network whose entry is `symbol`.
std::string LayerSymbol(const std::string& symbol, int index);

// Emits, with LLVM's IRBuilder, the relocatable object holding every kConstant tensor of
// `spec` as a private 64-byte-aligned constant and `int32_t <symbol>(void* const* args)`, which
// runs the layers as BuildNetwork documents: it calls the (hidden, external) layer kernels
// LayerSymbol(symbol, i) and does the kCopy layers itself with memcpy. `spec` must have passed
// BuildNetwork's checks. Internal error with LLVM's message. Thread-safe.
absl::StatusOr<std::string> EmitNetworkEntry(const NetworkSpec& spec, const std::string& symbol,
                                             const v1::Target& target);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_NETWORK_ENTRY_H_
