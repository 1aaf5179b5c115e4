#include "codegen/build.h"

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/internal/codegen_opencl.h"
#include "codegen/internal/compile_nest.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/matmul_opencl_template.h"
#include "codegen/internal/op_template.h"
#include "codegen/internal/with_checked.h"
#include "codegen/search_space.h"
#include "util/seconds_since.h"

namespace fleettune::codegen {
namespace {

using util::SecondsSince;

using Clock = std::chrono::steady_clock;

absl::Status CheckSymbol(const std::string& symbol) {
  bool valid = !symbol.empty() && !absl::ascii_isdigit(symbol[0]);
  for (char c : symbol) valid &= absl::ascii_isalnum(c) || c == '_';
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat("symbol '", symbol, "' is not a C identifier"));
  }
  return absl::OkStatus();
}

// The checks both builds share; returns the op's template.
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

std::vector<std::string> BufferNames(const CheckedWorkload& workload) {
  std::vector<std::string> names;
  for (const v1::TensorSpec& tensor : workload.Tensors()) names.push_back(tensor.name());
  return names;
}

std::string CHeader(const CheckedWorkload& workload, const CheckedTarget& target,
                    const std::string& config_text, const std::string& symbol) {
  std::string guard = absl::StrCat("FLEETTUNE_KERNEL_", absl::AsciiStrToUpper(symbol), "_H_");
  std::string text =
      absl::StrCat("// ", symbol, ": fleettune kernel for ", workload.key(),
                   " (float32)\n// target: ", target.key(), "\n// config: ", config_text,
                   "\n// args[i] point at dense row-major float32 buffers:\n");
  std::vector<v1::TensorSpec> tensors = workload.Tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::string dims;
    for (int64_t d : tensors[i].shape()) absl::StrAppend(&dims, "[", d, "]");
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
      "#ifndef ", guard, "\n#define ", guard, "\n\n#include <stdint.h>\n\n",
      "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\nint32_t ", symbol,
      "(void* const* args);\n\n#ifdef __cplusplus\n}  // extern \"C\"\n#endif\n\n", "#endif  // ",
      guard, "\n");
  return text;
}

}  // namespace

absl::StatusOr<BuiltKernel> BuildKernel(const CheckedWorkload& checked_workload,
                                        const CheckedTarget& checked_target,
                                        const v1::Config& config, const BuildOptions& options) {
  absl::StatusOr<const OpTemplate*> op_template =
      CheckInputs(checked_workload, checked_target, options);
  if (!op_template.ok()) return op_template.status();
  const v1::Workload& workload = checked_workload.proto();
  const v1::Target& target = checked_target.proto();
  Clock::time_point start = Clock::now();
  if (config.template_name() != (*op_template)->Space(workload, target).template_name()) {
    // A record of an older template of the op still builds with that template.
    const OpTemplate* named = FindTemplate(workload.op(), config.template_name());
    if (named == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("op '", workload.op(), "' has no template '", config.template_name(), "'"));
    }
    op_template = named;
  }
  const auto* opencl_template = dynamic_cast<const OpenClOpTemplate*>(*op_template);
  if ((opencl_template != nullptr) != checked_target.is_opencl()) {
    return absl::InvalidArgumentError(absl::StrCat("template '", config.template_name(),
                                                   "' does not build for target ",
                                                   checked_target.key()));
  }
  SearchSpace space = (*op_template)->Space(workload, target);
  if (absl::StatusOr<uint64_t> index = space.IndexOf(config); !index.ok()) {
    return index.status();
  }
  absl::StatusOr<ir::Stmt> scheduled = (*op_template)->Apply(workload, target, config);
  if (!scheduled.ok()) return scheduled.status();
  BuiltKernel kernel;
  ir::Stmt lowered = RunLoweringPasses(*scheduled, options.dump_ir ? &kernel.ir_dump : nullptr);
  kernel.lower_seconds = SecondsSince(start);
  if (opencl_template != nullptr) {
    return CompileOpenCl(checked_workload, lowered, opencl_template->Launch(workload, config),
                         options, std::move(kernel));
  }
  kernel.c_header =
      CHeader(checked_workload, checked_target, ConfigToString(config), options.symbol);
  return CompileNest(lowered, BufferNames(checked_workload), checked_target, options,
                     std::move(kernel));
}

absl::StatusOr<BuiltKernel> BuildReference(const CheckedWorkload& workload,
                                           const CheckedTarget& target,
                                           const BuildOptions& options) {
  absl::StatusOr<const OpTemplate*> op_template = CheckInputs(workload, target, options);
  if (!op_template.ok()) return op_template.status();
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
