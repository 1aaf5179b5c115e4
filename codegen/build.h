// Builds a kernel: applies a config to the op's template, lowers it to a loop nest, emits
// LLVM IR, runs LLVM's O3 pipeline for the target and links a shared object in process.
#ifndef FLEETTUNE_CODEGEN_BUILD_H_
#define FLEETTUNE_CODEGEN_BUILD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

struct BuildOptions {
  // Exported symbol of the kernel: `extern "C" int32_t <symbol>(void* const* args)`.
  std::string symbol = "fleettune_kernel";
  // Keep a printout of the loop nest after each lowering pass and the final LLVM IR.
  bool dump_ir = false;
  // Stop at the ELF relocatable object (BuiltKernel::shared_object holds it, not linked) with
  // the kernel's symbol hidden: a part of a bigger shared object (a network's layer), linked
  // by the caller. Native targets only.
  bool object_only = false;
  // Inputs of the workload (tensor names, e.g. "weight" or "B") that the caller passes
  // already in the layout the config's template packs them into: the data PackConstantInput
  // returns, PackSpec-many elements, instead of the dense tensor. The kernel skips packing
  // them (no copy, no heap buffer per call) and its C header says which args are packed.
  // For constant inputs (a network's weights), packed once at build time. Each must be an
  // input the config packs (PackConstantInput does not answer NotFound for it).
  std::vector<std::string> prepacked_inputs;
};

struct BuiltKernel {
  // ELF bytes; for an `opencl` target the OpenCL C source instead (first line:
  // `// fleettune-opencl v1 kernel=<symbol> global=G0,G1 local=L0,L1`, see docs/codegen.md).
  std::string shared_object;
  std::string symbol;
  std::string c_header;  // declares the kernel, documents the tensors
  std::string ir_dump;   // filled when BuildOptions::dump_ir
  double lower_seconds = 0;
  double llvm_seconds = 0;  // IR emission + O3 + object emission
  double link_seconds = 0;
  bool opencl = false;      // shared_object is OpenCL C source (an `opencl` target)
  bool needs_gomp = false;  // the code calls libgomp (link with it)
};

// Builds `config` of the workload's template for `target`; a config of an older template of
// the op (config.template_name(), e.g. matmul's "matmul") builds with that template.
// InvalidArgument when the config does not belong to that template's search space (naming
// the knob), the op has no template of that name, options.symbol is not a C identifier, or
// options.prepacked_inputs names an input the config does not pack (naming it);
// Internal when LLVM or the linker fails (with their message). Thread-safe: concurrent calls
// build in parallel, each with its own LLVMContext.
absl::StatusOr<BuiltKernel> BuildKernel(const CheckedWorkload& workload,
                                        const CheckedTarget& target, const v1::Config& config,
                                        const BuildOptions& options = {});

// Builds the workload's naive reference kernel (plain loop nest, no tiling, vectorization
// or threads) for `target`: what boards check candidates against. For an `opencl` target it
// is the naive nest as an OpenCL kernel run by one work-item (boards with an OpenCL device
// check matmul against a naive loop on their CPU instead, see rpc_server/opencl_device.h).
// InvalidArgument for a bad options.symbol or any options.prepacked_inputs. Thread-safe.
absl::StatusOr<BuiltKernel> BuildReference(const CheckedWorkload& workload,
                                           const CheckedTarget& target,
                                           const BuildOptions& options = {});

// A constant input in the layout `config`'s template packs it into.
struct PackedInput {
  std::string input;        // the workload tensor's name, e.g. "weight" or "B"
  std::vector<float> data;  // the packed buffer the kernel built with prepacked_inputs reads
};

// Packs `data`, the dense row-major tensor `input` of the workload, into the layout the
// template of `config` (resolved as BuildKernel resolves it) packs it into, by running that
// template's own packing nest on the host with an interpreter of the loop-nest IR: the same
// layout the kernel would make, for any target (nothing is run natively). Packing ignores
// the values: any float32 data packs. Templates pack: conv2d_nchwc its `weight` (blocks of
// oc_block output channels, the last block padded by repeating channel k - 1);
// matmul_blocked (matmul, batch_matmul) its `B` into panels of tile_x columns when its knob
// pack is 1. NotFound when the config does not pack `input` as a constant: conv2d_im2col,
// conv2d_direct and depthwise_conv2d_direct read their weights in place, matmul_blocked with
// pack = 0 reads B in place, and the zero-padding copy of a conv2d's `data` (an activation)
// is made on every call, so `data` is never prepacked (the message lists the inputs the
// config packs). InvalidArgument when `input` is not an input of the workload (listing
// them), when `data` does not hold the input's element count (naming both), or for a config
// BuildKernel refuses (its message). Thread-safe.
absl::StatusOr<PackedInput> PackConstantInput(const CheckedWorkload& workload,
                                              const CheckedTarget& target, const v1::Config& config,
                                              const std::string& input,
                                              const std::vector<float>& data);

// For a caller holding messages it has not checked (tests, tools): CheckedWorkload::Check and
// CheckedTarget::Check first (their InvalidArgument), then as above.
absl::StatusOr<BuiltKernel> BuildKernel(const v1::Workload& workload, const v1::Target& target,
                                        const v1::Config& config, const BuildOptions& options = {});
absl::StatusOr<BuiltKernel> BuildReference(const v1::Workload& workload, const v1::Target& target,
                                           const BuildOptions& options = {});

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_BUILD_H_
