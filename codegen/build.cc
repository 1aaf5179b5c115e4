#include "codegen/build.h"

#include <chrono>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/internal/codegen_llvm.h"
#include "codegen/internal/codegen_opencl.h"
#include "codegen/internal/linker.h"
#include "codegen/internal/llvm_backend.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/matmul_opencl_template.h"
#include "codegen/internal/op_template.h"
#include "codegen/internal/with_checked.h"
#include "codegen/search_space.h"
#include "llvm/ADT/Triple.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Host.h"
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

// Stand-ins for libgomp's entry points (one thread), linked as libgomp.so.1 when building
// for another architecture: the kernel then records DT_NEEDED libgomp.so.1 and the board's
// real libgomp provides the symbols at load time.
absl::StatusOr<std::string> GompStubObject(const v1::Target& target) {
  llvm::LLVMContext context;
  llvm::Module module("libgomp_stub", context);
  llvm::IRBuilder<> b(context);
  llvm::Type* i8_ptr = b.getInt8PtrTy();
  auto* worker_type = llvm::FunctionType::get(b.getVoidTy(), {i8_ptr}, false);
  auto* gomp_type = llvm::FunctionType::get(
      b.getVoidTy(), {worker_type->getPointerTo(), i8_ptr, b.getInt32Ty(), b.getInt32Ty()}, false);
  auto* gomp =
      llvm::Function::Create(gomp_type, llvm::Function::ExternalLinkage, "GOMP_parallel", module);
  b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", gomp));
  b.CreateCall(worker_type, gomp->getArg(0), {gomp->getArg(1)});
  b.CreateRetVoid();
  for (auto [name, value] : {std::pair{"omp_get_num_threads", 1}, {"omp_get_thread_num", 0}}) {
    auto* fn = llvm::Function::Create(llvm::FunctionType::get(b.getInt32Ty(), false),
                                      llvm::Function::ExternalLinkage, name, module);
    b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", fn));
    b.CreateRet(b.getInt32(value));
  }
  return CompileToObject(&module, target, nullptr);
}

bool IsHostArchitecture(const v1::Target& target) {
  return llvm::Triple(target.triple()).getArch() ==
         llvm::Triple(llvm::sys::getProcessTriple()).getArch();
}

// Emission, optimisation and linking of a lowered loop nest.
absl::StatusOr<BuiltKernel> Compile(const CheckedWorkload& checked_workload,
                                    const CheckedTarget& checked_target, const ir::Stmt& lowered,
                                    const BuildOptions& options, BuiltKernel kernel) {
  const v1::Target& target = checked_target.proto();
  Clock::time_point start = Clock::now();
  KernelSignature signature;
  signature.symbol = options.symbol;
  signature.threads = target.threads();
  for (const v1::TensorSpec& tensor : checked_workload.Tensors()) {
    signature.buffers.push_back(tensor.name());
  }
  LinkRequest link;
  link.soname = absl::StrCat(options.symbol, ".so");
  {
    // One context per build: builds on different threads share nothing.
    llvm::LLVMContext context;
    auto module = std::make_unique<llvm::Module>(options.symbol, context);
    link.needs_gomp = EmitKernel(lowered, signature, module.get());
    absl::StatusOr<std::string> object =
        CompileToObject(module.get(), target, options.dump_ir ? &kernel.ir_dump : nullptr);
    if (!object.ok()) return object.status();
    link.object = std::move(*object);
  }
  if (link.needs_gomp && !IsHostArchitecture(target)) {
    absl::StatusOr<std::string> stub = GompStubObject(target);
    if (!stub.ok()) return stub.status();
    link.gomp_stub_object = std::move(*stub);
  }
  kernel.llvm_seconds = SecondsSince(start);

  start = Clock::now();
  absl::StatusOr<std::string> shared_object = LinkSharedObject(link);
  if (!shared_object.ok()) return shared_object.status();
  kernel.link_seconds = SecondsSince(start);
  kernel.shared_object = std::move(*shared_object);
  kernel.symbol = options.symbol;
  return kernel;
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
  return Compile(checked_workload, checked_target, lowered, options, std::move(kernel));
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
  return Compile(workload, target, lowered, options, std::move(kernel));
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
