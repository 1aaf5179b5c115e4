#include "codegen/internal/network_entry.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/internal/llvm_backend.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace fleettune::codegen {
namespace {

constexpr int64_t kArenaAlignment = 64;

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

std::string LayerSymbol(const std::string& symbol, int index) {
  return absl::StrCat(symbol, "_l", index);
}

absl::StatusOr<std::string> EmitNetworkEntry(const NetworkSpec& spec, const std::string& symbol,
                                             const v1::Target& target) {
  // One context per build: builds on different threads share nothing.
  llvm::LLVMContext context;
  llvm::Module module(symbol, context);
  llvm::IRBuilder<> b(context);
  llvm::Type* i8_ptr = b.getInt8PtrTy();
  llvm::Type* i64 = b.getInt64Ty();
  auto* kernel_type = llvm::FunctionType::get(b.getInt32Ty(), {i8_ptr->getPointerTo()}, false);
  auto* entry =
      llvm::Function::Create(kernel_type, llvm::Function::ExternalLinkage, symbol, module);
  llvm::FunctionCallee aligned_alloc = module.getOrInsertFunction(
      "aligned_alloc", llvm::FunctionType::get(i8_ptr, {i64, i64}, false));
  llvm::FunctionCallee free_fn =
      module.getOrInsertFunction("free", llvm::FunctionType::get(b.getVoidTy(), {i8_ptr}, false));

  // Where each tensor is: a weight's global, an argument, or the arena at an offset.
  std::vector<llvm::Value*> pointers(spec.tensors.size(), nullptr);
  for (size_t i = 0; i < spec.tensors.size(); ++i) {
    const NetworkTensor& tensor = spec.tensors[i];
    if (tensor.kind != NetworkTensor::Kind::kConstant) continue;
    llvm::Constant* values =
        llvm::ConstantDataArray::get(context, llvm::ArrayRef<float>(tensor.data));
    auto* weight = new llvm::GlobalVariable(module, values->getType(), /*isConstant=*/true,
                                            llvm::GlobalValue::PrivateLinkage, values,
                                            absl::StrCat("weight", i));
    weight->setAlignment(llvm::Align(kArenaAlignment));
    pointers[i] = llvm::ConstantExpr::getBitCast(weight, i8_ptr);
  }

  llvm::BasicBlock* start = llvm::BasicBlock::Create(context, "entry", entry);
  llvm::BasicBlock* no_memory = llvm::BasicBlock::Create(context, "no_memory", entry);
  llvm::BasicBlock* finish = llvm::BasicBlock::Create(context, "finish", entry);
  b.SetInsertPoint(start);
  size_t max_args = 1;
  for (const NetworkLayer& layer : spec.layers) max_args = std::max(max_args, layer.args.size());
  llvm::AllocaInst* layer_args =
      b.CreateAlloca(i8_ptr, b.getInt32(static_cast<uint32_t>(max_args)), "layer_args");
  int argument = 0;
  for (NetworkTensor::Kind kind : {NetworkTensor::Kind::kInput, NetworkTensor::Kind::kOutput}) {
    for (size_t i = 0; i < spec.tensors.size(); ++i) {
      if (spec.tensors[i].kind != kind) continue;
      llvm::Value* slot = b.CreateConstInBoundsGEP1_64(i8_ptr, entry->getArg(0), argument++);
      pointers[i] = b.CreateLoad(i8_ptr, slot, spec.tensors[i].name);
    }
  }
  llvm::Value* arena = llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(i8_ptr));
  if (spec.arena_bytes > 0) {
    const int64_t bytes =
        (spec.arena_bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    arena = b.CreateCall(aligned_alloc, {b.getInt64(kArenaAlignment), b.getInt64(bytes)}, "arena");
    llvm::BasicBlock* allocated = llvm::BasicBlock::Create(context, "allocated", entry, no_memory);
    b.CreateCondBr(b.CreateIsNull(arena), no_memory, allocated);
    b.SetInsertPoint(allocated);
  }
  for (size_t i = 0; i < spec.tensors.size(); ++i) {
    if (spec.tensors[i].kind != NetworkTensor::Kind::kIntermediate) continue;
    pointers[i] = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), arena, spec.tensors[i].offset);
  }

  // Each layer's block branches to `finish` with its status when that is not 0.
  std::vector<std::pair<llvm::Value*, llvm::BasicBlock*>> statuses;
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    const NetworkLayer& layer = spec.layers[l];
    if (layer.kind == NetworkLayer::Kind::kCopy) {
      const int64_t bytes = Elements(spec.tensors[layer.args[0]].shape) * 4;
      b.CreateMemCpy(pointers[layer.args[1]], llvm::MaybeAlign(4), pointers[layer.args[0]],
                     llvm::MaybeAlign(4), b.getInt64(bytes));
      continue;
    }
    for (size_t a = 0; a < layer.args.size(); ++a) {
      b.CreateStore(pointers[layer.args[a]], b.CreateConstInBoundsGEP1_64(i8_ptr, layer_args, a));
    }
    llvm::Function* kernel =
        llvm::Function::Create(kernel_type, llvm::Function::ExternalLinkage,
                               LayerSymbol(symbol, static_cast<int>(l)), module);
    kernel->setVisibility(llvm::GlobalValue::HiddenVisibility);
    llvm::Value* status = b.CreateCall(kernel, {layer_args});
    llvm::BasicBlock* next = llvm::BasicBlock::Create(context, "next", entry, no_memory);
    statuses.emplace_back(status, b.GetInsertBlock());
    b.CreateCondBr(b.CreateICmpNE(status, b.getInt32(0)), finish, next);
    b.SetInsertPoint(next);
  }
  statuses.emplace_back(b.getInt32(0), b.GetInsertBlock());
  b.CreateBr(finish);

  b.SetInsertPoint(finish);
  llvm::PHINode* result = b.CreatePHI(b.getInt32Ty(), statuses.size(), "status");
  for (auto [status, block] : statuses) result->addIncoming(status, block);
  if (spec.arena_bytes > 0) b.CreateCall(free_fn, {arena});
  b.CreateRet(result);
  b.SetInsertPoint(no_memory);
  b.CreateRet(b.getInt32(1));
  return CompileToObject(&module, target, nullptr);
}

}  // namespace fleettune::codegen
