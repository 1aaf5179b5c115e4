// A host interpreter of the loop-nest IR: runs a nest one iteration at a time, in serial
// order, whatever its loop kinds say. It is the IR's meaning without a code generator, for
// work that must not depend on the target: packing a constant weight at build time with the
// template's own packing nest (PackConstantInput), for aarch64 kernels as well as host ones.
//
// The nest is translated once (variables and buffers resolved to slots), then run; a packing
// nest of a few million elements takes a fraction of a second.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_INTERPRET_NEST_H_
#define FLEETTUNE_CODEGEN_INTERNAL_INTERPRET_NEST_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "codegen/internal/ir.h"

namespace fleettune::codegen {

// The caller's buffers by name: what the nest reads and writes (flat float32 elements).
using HostBuffers = std::map<std::string, absl::Span<float>>;

// Runs `nest` over `buffers`. Integer arithmetic is 64-bit with floor division, float
// arithmetic is float32, as the code generator emits them; loops run min .. min + extent - 1
// in order; an Allocate's buffer exists (filled with NaN) while its body runs. Buffers the
// nest writes are changed in place. Errors: InvalidArgument naming a variable or buffer the
// nest uses but nothing binds, or a node kind it does not know, before anything runs; OutOfRange
// naming the buffer and the index of the first access outside it, or "division by zero", after
// which the nest stops and buffers hold what it wrote so far. Thread-safe for calls on distinct
// buffers.
absl::Status InterpretNest(const ir::Stmt& nest, const HostBuffers& buffers);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_INTERPRET_NEST_H_
