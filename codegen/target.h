// Target strings: `host` or `llvm -mtriple=... -mcpu=... [-mattr=...] [-threads=N]` (native
// code), or `opencl [-device=N] [-platform=NAME]` (OpenCL C for an OpenCL device).
#ifndef FLEETTUNE_CODEGEN_TARGET_H_
#define FLEETTUNE_CODEGEN_TARGET_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// Parses a target string. `host` resolves to this machine's triple, CPU and features as LLVM
// sees them; options may follow it (`host -threads=1`). `-threads` defaults to the number of
// online cores. Unknown options, a triple LLVM has no backend for, or a bad thread count give
// InvalidArgument naming the bad part. Thread-safe.
absl::StatusOr<v1::Target> ParseTarget(std::string_view text);

// Checks a Target message (e.g. one received over the network): a triple with an LLVM
// backend, a CPU and features that backend knows, threads >= 1. InvalidArgument naming the
// bad field otherwise. Thread-safe.
absl::Status ValidateTarget(const v1::Target& target);

// The canonical form with every field explicit:
// `llvm -mtriple=T -mcpu=C -mattr=+a,+b -threads=N` (features sorted; `host` lists enabled
// ones only, an explicit `-mattr` keeps its `-feature` entries, which sort after `+` ones).
// An OpenCL target's canonical form is `opencl -device=N -platform=NAME` (`any`: the first
// platform).
std::string TargetKey(const v1::Target& target);

// A short form for people to read, e.g. `x86_64-pc-linux-gnu znver3, 2 threads, 87 features`:
// the triple, CPU, thread count and how many -mattr features, not the features themselves
// (`host` enables ~100 of them, which buries the output they are printed in). Not a key: the
// database, --json and --verbose output keep TargetKey. An OpenCL target's key is short
// already and is returned as it is. Thread-safe.
std::string TargetSummary(const v1::Target& target);

// True for an `opencl` target (kind TARGET_KIND_OPENCL): codegen emits OpenCL C source.
bool IsOpenClTarget(const v1::Target& target);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_TARGET_H_
