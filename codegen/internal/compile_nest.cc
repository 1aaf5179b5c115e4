#include "codegen/internal/compile_nest.h"

#include <chrono>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "codegen/internal/codegen_llvm.h"
#include "codegen/internal/linker.h"
#include "codegen/internal/llvm_backend.h"
#include "llvm/ADT/Triple.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Host.h"
#include "util/seconds_since.h"

namespace fleettune::codegen {
namespace {

using Clock = std::chrono::steady_clock;
using util::SecondsSince;

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

}  // namespace

absl::Status CheckSymbol(const std::string& symbol) {
  bool valid = !symbol.empty() && !absl::ascii_isdigit(symbol[0]);
  for (char c : symbol) valid &= absl::ascii_isalnum(c) || c == '_';
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat("symbol '", symbol, "' is not a C identifier"));
  }
  return absl::OkStatus();
}

std::string KernelDeclaration(const std::string& guard, const std::string& symbol) {
  return absl::StrCat("#ifndef ", guard, "\n#define ", guard, "\n\n#include <stdint.h>\n\n",
                      "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\nint32_t ", symbol,
                      "(void* const* args);\n\n#ifdef __cplusplus\n}  // extern \"C\"\n#endif\n\n",
                      "#endif  // ", guard, "\n");
}

absl::StatusOr<BuiltKernel> CompileNest(const ir::Stmt& lowered,
                                        const std::vector<std::string>& buffers,
                                        const CheckedTarget& checked_target,
                                        const BuildOptions& options, BuiltKernel kernel) {
  const v1::Target& target = checked_target.proto();
  Clock::time_point start = Clock::now();
  KernelSignature signature;
  signature.symbol = options.symbol;
  signature.threads = target.threads();
  signature.buffers = buffers;
  std::string object;
  {
    // One context per build: builds on different threads share nothing.
    llvm::LLVMContext context;
    auto module = std::make_unique<llvm::Module>(options.symbol, context);
    kernel.needs_gomp = EmitKernel(lowered, signature, module.get());
    if (options.object_only) {
      module->getFunction(options.symbol)->setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
    absl::StatusOr<std::string> compiled =
        CompileToObject(module.get(), target, options.dump_ir ? &kernel.ir_dump : nullptr);
    if (!compiled.ok()) return compiled.status();
    object = std::move(*compiled);
  }
  kernel.llvm_seconds = SecondsSince(start);
  kernel.symbol = options.symbol;
  if (options.object_only) {
    kernel.shared_object = std::move(object);
    return kernel;
  }
  start = Clock::now();
  absl::StatusOr<std::string> shared_object = LinkObjects(
      {std::move(object)}, absl::StrCat(options.symbol, ".so"), kernel.needs_gomp, target);
  if (!shared_object.ok()) return shared_object.status();
  kernel.link_seconds = SecondsSince(start);
  kernel.shared_object = std::move(*shared_object);
  return kernel;
}

absl::StatusOr<std::string> LinkObjects(std::vector<std::string> objects, const std::string& soname,
                                        bool needs_gomp, const v1::Target& target) {
  if (objects.empty()) return absl::InternalError("no object to link");
  LinkRequest link;
  link.soname = soname;
  link.needs_gomp = needs_gomp;
  link.object = std::move(objects[0]);
  link.more_objects.assign(std::make_move_iterator(objects.begin() + 1),
                           std::make_move_iterator(objects.end()));
  if (needs_gomp && !IsHostArchitecture(target)) {
    absl::StatusOr<std::string> stub = GompStubObject(target);
    if (!stub.ok()) return stub.status();
    link.gomp_stub_object = std::move(*stub);
  }
  return LinkSharedObject(link);
}

}  // namespace fleettune::codegen
