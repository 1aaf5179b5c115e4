#include "codegen/internal/llvm_backend.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "codegen/internal/llvm_init.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"

namespace fleettune::codegen {
namespace {

absl::Status Verify(const llvm::Module& module, const char* stage) {
  std::string message;
  llvm::raw_string_ostream os(message);
  if (llvm::verifyModule(module, &os)) {
    return absl::InternalError(absl::StrCat("LLVM module invalid ", stage, ": ", os.str()));
  }
  return absl::OkStatus();
}

void RunO3(llvm::Module* module, llvm::TargetMachine* machine) {
  llvm::LoopAnalysisManager loop_analyses;
  llvm::FunctionAnalysisManager function_analyses;
  llvm::CGSCCAnalysisManager cgscc_analyses;
  llvm::ModuleAnalysisManager module_analyses;
  llvm::PassBuilder builder(machine);
  builder.registerModuleAnalyses(module_analyses);
  builder.registerCGSCCAnalyses(cgscc_analyses);
  builder.registerFunctionAnalyses(function_analyses);
  builder.registerLoopAnalyses(loop_analyses);
  builder.crossRegisterProxies(loop_analyses, function_analyses, cgscc_analyses, module_analyses);
  llvm::ModulePassManager passes =
      builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  passes.run(*module, module_analyses);
}

}  // namespace

absl::StatusOr<std::string> CompileToObject(llvm::Module* module, const v1::Target& target,
                                            std::string* ir_dump) {
  internal::InitializeLLVM();
  std::string error;
  const llvm::Target* backend = llvm::TargetRegistry::lookupTarget(target.triple(), error);
  if (backend == nullptr) {
    return absl::InternalError(
        absl::StrCat("no LLVM backend for '", target.triple(), "': ", error));
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(
      backend->createTargetMachine(target.triple(), target.cpu(), target.features(), options,
                                   llvm::Reloc::PIC_, llvm::None, llvm::CodeGenOpt::Aggressive));
  if (machine == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a target machine for '", target.triple(), "'"));
  }
  module->setTargetTriple(target.triple());
  module->setDataLayout(machine->createDataLayout());
  for (llvm::Function& fn : *module) {
    if (fn.isDeclaration()) continue;
    fn.addFnAttr("target-cpu", target.cpu());
    if (!target.features().empty()) fn.addFnAttr("target-features", target.features());
  }
  if (absl::Status status = Verify(*module, "after emission"); !status.ok()) return status;
  RunO3(module, machine.get());
  if (absl::Status status = Verify(*module, "after optimisation"); !status.ok()) return status;
  if (ir_dump != nullptr) {
    llvm::raw_string_ostream os(*ir_dump);
    os << "; optimised LLVM IR\n" << *module;
  }

  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager emit;
  if (machine->addPassesToEmitFile(emit, os, nullptr, llvm::CGFT_ObjectFile)) {
    return absl::InternalError(
        absl::StrCat("target '", target.triple(), "' cannot emit object files"));
  }
  emit.run(*module);
  return std::string(buffer.begin(), buffer.end());
}

}  // namespace fleettune::codegen
