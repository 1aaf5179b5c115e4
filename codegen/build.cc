#include "codegen/build.h"

#include <chrono>
#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/internal/codegen_opencl.h"
#include "codegen/internal/compile_nest.h"
#include "codegen/internal/interpret_nest.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/matmul_opencl_template.h"
#include "codegen/internal/op_template.h"
#include "codegen/internal/pack_inputs.h"
#include "codegen/internal/with_checked.h"
#include "codegen/search_space.h"
#include "util/seconds_since.h"

namespace fleettune::codegen {
namespace {

using util::SecondsSince;

using Clock = std::chrono::steady_clock;

// The checks of a reference build; returns the op's template.
absl::StatusOr<const OpTemplate*> CheckInputs(const CheckedWorkload& workload,
                                              const CheckedTarget& target,
                                              const BuildOptions& options) {
  if (absl::Status s = CheckSymbol(options.symbol); !s.ok()) return s;
  const OpTemplate* op_template = FindTemplate(workload.proto(), target.proto());
  if (op_template == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("op '", workload.op(),
                                                   "' has no schedule template",
                                                   target.is_opencl() ? " for opencl" : ""));
  }
  return op_template;
}

// The OpenCL C source of a lowered nest: one work-item per point of `launch`'s global loops
// (none: one work-item runs everything).
absl::StatusOr<BuiltKernel> CompileOpenCl(const CheckedWorkload& workload, const ir::Stmt& lowered,
                                          const OpenClLaunch& launch, const BuildOptions& options,
                                          BuiltKernel kernel) {
  Clock::time_point start = Clock::now();
  OpenClKernelSpec spec;
  spec.symbol = options.symbol;
  for (const v1::TensorSpec& tensor : workload.Tensors()) {
    spec.buffers.push_back(tensor.name());
  }
  spec.global_loops = launch.global_loops;
  spec.local_size = launch.local_size;
  absl::StatusOr<OpenClKernel> emitted = EmitOpenCl(lowered, spec);
  if (!emitted.ok()) return emitted.status();
  if (options.dump_ir) absl::StrAppend(&kernel.ir_dump, "// opencl\n", emitted->source);
  kernel.llvm_seconds = SecondsSince(start);
  kernel.shared_object = std::move(emitted->source);
  kernel.symbol = options.symbol;
  kernel.opencl = true;
  kernel.c_header = absl::StrCat(
      "// ", options.symbol, ": fleettune OpenCL kernel for ", workload.key(),
      " (float32): __kernel void ", options.symbol,
      "(__global const float* inputs..., __global float* output); launch as its first line "
      "says.\n");
  return kernel;
}

// The template that builds `config` for the workload: the op's primary template for the
// target, or the older template of the op the config names; InvalidArgument when there is
// none, it does not build for the target, or the config is not a point of its search space.
absl::StatusOr<const OpTemplate*> ConfigTemplate(const CheckedWorkload& checked_workload,
                                                 const CheckedTarget& checked_target,
                                                 const v1::Config& config) {
  const v1::Workload& workload = checked_workload.proto();
  const v1::Target& target = checked_target.proto();
  const OpTemplate* op_template = FindTemplate(workload, target);
  if (op_template == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("op '", workload.op(), "' has no schedule template",
                     checked_target.is_opencl() ? " for opencl" : ""));
  }
  if (config.template_name() != op_template->Space(workload, target).template_name()) {
    // A record of an older template of the op still builds with that template.
    op_template = FindTemplate(workload.op(), config.template_name());
    if (op_template == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("op '", workload.op(), "' has no template '", config.template_name(), "'"));
    }
  }
  const bool opencl = dynamic_cast<const OpenClOpTemplate*>(op_template) != nullptr;
  if (opencl != checked_target.is_opencl()) {
    return absl::InvalidArgumentError(absl::StrCat("template '", config.template_name(),
                                                   "' does not build for target ",
                                                   checked_target.key()));
  }
  SearchSpace space = op_template->Space(workload, target);
  if (absl::StatusOr<uint64_t> index = space.IndexOf(config); !index.ok()) {
    return index.status();
  }
  return op_template;
}

// The packing of constant input `input` that `config` (of `op_template`) makes; NotFound
// naming the template and the inputs it packs as constants when it does not pack `input`.
absl::StatusOr<PackSpec> FindConstantPack(const OpTemplate& op_template,
                                          const CheckedWorkload& workload,
                                          const CheckedTarget& target, const v1::Config& config,
                                          const std::string& input) {
  absl::StatusOr<std::vector<PackSpec>> packs =
      op_template.ConstantPacks(workload.proto(), target.proto(), config);
  if (!packs.ok()) return packs.status();
  std::vector<std::string> names;
  for (PackSpec& pack : *packs) {
    if (pack.buffer == input) return std::move(pack);
    names.push_back(pack.buffer);
  }
  return absl::NotFoundError(absl::StrCat(
      "template '", config.template_name(), "' with this config does not pack input '", input,
      "' as a constant (",
      names.empty() ? "it packs none" : "it packs: ", absl::StrJoin(names, ", "), ")"));
}

std::vector<std::string> BufferNames(const CheckedWorkload& workload) {
  std::vector<std::string> names;
  for (const v1::TensorSpec& tensor : workload.Tensors()) names.push_back(tensor.name());
  return names;
}

// `prepacked`: the inputs the kernel reads in its template's packed layout, with their
// sizes in elements (BuildOptions::prepacked_inputs).
std::string CHeader(const CheckedWorkload& workload, const CheckedTarget& target,
                    const std::string& config_text, const std::string& symbol,
                    const std::map<std::string, int64_t>& prepacked = {}) {
  std::string guard = absl::StrCat("FLEETTUNE_KERNEL_", absl::AsciiStrToUpper(symbol), "_H_");
  std::string text =
      absl::StrCat("// ", symbol, ": fleettune kernel for ", workload.key(),
                   " (float32)\n// target: ", target.key(), "\n// config: ", config_text,
                   "\n// args[i] point at dense row-major float32 buffers:\n");
  std::vector<v1::TensorSpec> tensors = workload.Tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::string dims;
    for (int64_t d : tensors[i].shape()) absl::StrAppend(&dims, "[", d, "]");
    if (auto packed = prepacked.find(tensors[i].name()); packed != prepacked.end()) {
      absl::StrAppend(&text, "//   args[", i, "] = ", tensors[i].name(), " float[", packed->second,
                      "] (input, pre-packed: not ", dims,
                      " but the layout fleettune's PackConstantInput makes of it for this "
                      "config)\n");
      continue;
    }
    absl::StrAppend(&text, "//   args[", i, "] = ", tensors[i].name(), " float", dims,
                    i + 1 == tensors.size() ? " (output)\n" : " (input)\n");
  }
  absl::StrAppend(
      &text,
      "// Returns 0 on success, 1 when it cannot allocate its scratch buffers (packed\n"
      "// panels). Link or load with libgomp.so.1 available. A program that dlopen()s\n"
      "// and later dlclose()s a kernel must keep libgomp loaded (link with -lgomp, or\n"
      "// dlopen(\"libgomp.so.1\", RTLD_NOW | RTLD_NODELETE) first): its worker threads\n"
      "// outlive a parallel region.\n",
      KernelDeclaration(guard, symbol));
  return text;
}

}  // namespace

absl::StatusOr<BuiltKernel> BuildKernel(const CheckedWorkload& checked_workload,
                                        const CheckedTarget& checked_target,
                                        const v1::Config& config, const BuildOptions& options) {
  if (absl::Status s = CheckSymbol(options.symbol); !s.ok()) return s;
  absl::StatusOr<const OpTemplate*> op_template =
      ConfigTemplate(checked_workload, checked_target, config);
  if (!op_template.ok()) return op_template.status();
  const v1::Workload& workload = checked_workload.proto();
  const v1::Target& target = checked_target.proto();
  Clock::time_point start = Clock::now();
  absl::StatusOr<ir::Stmt> scheduled = (*op_template)->Apply(workload, target, config);
  if (!scheduled.ok()) return scheduled.status();
  std::map<std::string, int64_t> prepacked;  // input -> packed elements
  for (const std::string& input : options.prepacked_inputs) {
    if (prepacked.count(input) != 0) continue;
    absl::StatusOr<PackSpec> pack =
        FindConstantPack(**op_template, checked_workload, checked_target, config, input);
    if (!pack.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("prepacked_inputs: ", pack.status().message()));
    }
    *scheduled = ReadPrepackedInput(*scheduled, *pack);
    prepacked[input] = pack->size;
  }
  BuiltKernel kernel;
  ir::Stmt lowered = RunLoweringPasses(*scheduled, options.dump_ir ? &kernel.ir_dump : nullptr);
  kernel.lower_seconds = SecondsSince(start);
  if (const auto* opencl = dynamic_cast<const OpenClOpTemplate*>(*op_template)) {
    return CompileOpenCl(checked_workload, lowered, opencl->Launch(workload, config), options,
                         std::move(kernel));
  }
  kernel.c_header =
      CHeader(checked_workload, checked_target, ConfigToString(config), options.symbol, prepacked);
  return CompileNest(lowered, BufferNames(checked_workload), checked_target, options,
                     std::move(kernel));
}

absl::StatusOr<PackedInput> PackConstantInput(const CheckedWorkload& workload,
                                              const CheckedTarget& target, const v1::Config& config,
                                              const std::string& input,
                                              const std::vector<float>& data) {
  std::vector<v1::TensorSpec> tensors = workload.Tensors();
  std::vector<std::string> inputs;
  int64_t elements = -1;
  for (size_t i = 0; i + 1 < tensors.size(); ++i) {  // the output is last
    inputs.push_back(tensors[i].name());
    if (tensors[i].name() != input) continue;
    elements = 1;
    for (int64_t d : tensors[i].shape()) elements *= d;
  }
  if (elements < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("workload ", workload.key(), " has no input '", input,
                     "' (inputs: ", absl::StrJoin(inputs, ", "), ")"));
  }
  if (static_cast<int64_t>(data.size()) != elements) {
    return absl::InvalidArgumentError(absl::StrCat("input '", input, "' of ", workload.key(),
                                                   " has ", elements, " elements, data has ",
                                                   data.size()));
  }
  absl::StatusOr<const OpTemplate*> op_template = ConfigTemplate(workload, target, config);
  if (!op_template.ok()) return op_template.status();
  absl::StatusOr<PackSpec> pack = FindConstantPack(**op_template, workload, target, config, input);
  if (!pack.ok()) return pack.status();
  PackedInput packed{input, std::vector<float>(pack->size, std::nanf(""))};
  std::vector<float> dense = data;
  absl::Status run = InterpretNest(pack->pack_nest, {{pack->buffer, absl::MakeSpan(dense)},
                                                     {pack->packed, absl::MakeSpan(packed.data)}});
  if (!run.ok()) {
    return absl::InternalError(absl::StrCat("packing '", input, "' failed: ", run.message()));
  }
  return packed;
}

absl::StatusOr<BuiltKernel> BuildReference(const CheckedWorkload& workload,
                                           const CheckedTarget& target,
                                           const BuildOptions& options) {
  absl::StatusOr<const OpTemplate*> op_template = CheckInputs(workload, target, options);
  if (!op_template.ok()) return op_template.status();
  if (!options.prepacked_inputs.empty()) {
    return absl::InvalidArgumentError("prepacked_inputs: the reference kernel packs nothing");
  }
  Clock::time_point start = Clock::now();
  BuiltKernel kernel;
  ir::Stmt lowered = RunLoweringPasses((*op_template)->Reference(workload.proto()),
                                       options.dump_ir ? &kernel.ir_dump : nullptr);
  kernel.lower_seconds = SecondsSince(start);
  if (target.is_opencl()) {
    return CompileOpenCl(workload, lowered, OpenClLaunch{}, options, std::move(kernel));
  }
  kernel.c_header = CHeader(workload, target, "reference (naive loop nest)", options.symbol);
  return CompileNest(lowered, BufferNames(workload), target, options, std::move(kernel));
}

absl::StatusOr<BuiltKernel> BuildKernel(const v1::Workload& workload, const v1::Target& target,
                                        const v1::Config& config, const BuildOptions& options) {
  return WithChecked(workload, target, [&](const CheckedWorkload& w, const CheckedTarget& t) {
    return BuildKernel(w, t, config, options);
  });
}

absl::StatusOr<BuiltKernel> BuildReference(const v1::Workload& workload, const v1::Target& target,
                                           const BuildOptions& options) {
  return WithChecked(workload, target, [&](const CheckedWorkload& w, const CheckedTarget& t) {
    return BuildReference(w, t, options);
  });
}

}  // namespace fleettune::codegen
