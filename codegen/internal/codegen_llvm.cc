#include "codegen/internal/codegen_llvm.h"

#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/internal/check.h"
#include "codegen/internal/ir_mutator.h"
#include "codegen/internal/simplify.h"
#include "codegen/internal/vectorize_loops.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

namespace fleettune::codegen {
namespace {

using ir::BinaryOp;

// Vector loads of lanes `stride` elements apart up to this stride load the span they cover
// and shuffle; larger strides load lane by lane.
constexpr int64_t kMaxShuffledStride = 4;

class FunctionEmitter {
 public:
  FunctionEmitter(llvm::Module* module, const KernelSignature& signature, int* outlined)
      : module_(module),
        context_(module->getContext()),
        builder_(context_),
        signature_(signature),
        outlined_(outlined) {
    llvm::FastMathFlags flags;
    flags.setAllowContract(true);  // lets the backend fuse multiply-adds
    builder_.setFastMathFlags(flags);
  }

  bool uses_gomp() const { return uses_gomp_; }

  // Defines `i32 name(float* noalias buffers..., extra i64 params...)` computing `body`, where
  // `body` sees the buffers by name and the i64 params as variables `params`. It returns 0, or
  // 1 when a heap allocation fails.
  llvm::Function* DefineFunction(const std::string& name, const std::vector<std::string>& buffers,
                                 const std::vector<std::string>& params, const ir::Stmt& body) {
    std::vector<llvm::Type*> arg_types(buffers.size(), FloatPtr());
    arg_types.insert(arg_types.end(), params.size(), I64());
    auto* type = llvm::FunctionType::get(builder_.getInt32Ty(), arg_types, false);
    auto* fn = llvm::Function::Create(type, llvm::Function::InternalLinkage, name, module_);
    fn->addFnAttr(llvm::Attribute::NoInline);
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    size_t i = 0;
    for (; i < buffers.size(); ++i) {
      fn->addParamAttr(i, llvm::Attribute::NoAlias);
      fn->getArg(i)->setName(buffers[i]);
      buffers_[buffers[i]] = fn->getArg(i);
      buffer_order_.push_back(buffers[i]);
    }
    for (const std::string& param : params) {
      fn->getArg(i)->setName(param);
      vars_[param] = fn->getArg(i++);
    }
    builder_.SetInsertPoint(llvm::BasicBlock::Create(context_, "entry", fn));
    function_ = fn;
    EmitStmt(body, /*loop_depth=*/0);
    builder_.CreateRet(builder_.getInt32(0));
    return fn;
  }

 private:
  llvm::Type* I64() { return builder_.getInt64Ty(); }
  llvm::Type* F32() { return builder_.getFloatTy(); }
  llvm::PointerType* FloatPtr() { return llvm::Type::getFloatPtrTy(context_); }

  void EmitStmt(const ir::Stmt& s, int loop_depth) {
    if (const ir::For* op = s->As<ir::For>()) return EmitFor(op, loop_depth);
    if (const ir::Store* op = s->As<ir::Store>()) {
      llvm::Value* value = EmitExpr(op->value);
      builder_.CreateAlignedStore(value, Address(op->buffer, EmitExpr(op->index)), llvm::Align(4));
      return;
    }
    if (const ir::Block* op = s->As<ir::Block>()) {
      for (const ir::Stmt& child : op->stmts) EmitStmt(child, loop_depth);
      return;
    }
    if (const ir::Allocate* op = s->As<ir::Allocate>()) return EmitAllocate(op, loop_depth);
    const ir::IfThenElse* op = s->As<ir::IfThenElse>();
    FLEETTUNE_INTERNAL_CHECK(op != nullptr, "unknown statement");
    llvm::Value* condition = EmitExpr(op->condition);
    auto* then_block = llvm::BasicBlock::Create(context_, "then", function_);
    auto* else_block = llvm::BasicBlock::Create(context_, "else", function_);
    auto* done = llvm::BasicBlock::Create(context_, "endif", function_);
    builder_.CreateCondBr(condition, then_block, else_block);
    builder_.SetInsertPoint(then_block);
    EmitStmt(op->then_case, loop_depth);
    builder_.CreateBr(done);
    builder_.SetInsertPoint(else_block);
    if (op->else_case) EmitStmt(op->else_case, loop_depth);
    builder_.CreateBr(done);
    builder_.SetInsertPoint(done);
  }

  // Stack buffers: a 64-byte aligned alloca in the entry block (so SROA can promote it).
  // Heap buffers: aligned_alloc(64, bytes rounded up to 64), freed after the body; a failed
  // allocation returns 1 from the function.
  void EmitAllocate(const ir::Allocate* op, int loop_depth) {
    FLEETTUNE_INTERNAL_CHECK(buffers_.count(op->name) == 0, "allocation shadows a buffer");
    FLEETTUNE_INTERNAL_CHECK(op->memory == ir::MemoryKind::kStack || !in_parallel_region_,
                             "heap allocation inside a parallel loop");
    llvm::Value* pointer = nullptr;
    llvm::Type* i8_ptr = builder_.getInt8PtrTy();
    if (op->memory == ir::MemoryKind::kStack) {
      llvm::IRBuilder<> entry(&function_->getEntryBlock(), function_->getEntryBlock().begin());
      llvm::AllocaInst* alloca = entry.CreateAlloca(llvm::ArrayType::get(F32(), op->size));
      alloca->setAlignment(llvm::Align(64));
      alloca->setName(op->name);
      pointer = entry.CreateConstInBoundsGEP2_32(alloca->getAllocatedType(), alloca, 0, 0);
    } else {
      int64_t bytes = (op->size * 4 + 63) / 64 * 64;
      auto* alloc_type = llvm::FunctionType::get(i8_ptr, {I64(), I64()}, false);
      llvm::Value* raw =
          builder_.CreateCall(module_->getOrInsertFunction("aligned_alloc", alloc_type),
                              {builder_.getInt64(64), builder_.getInt64(bytes)}, op->name);
      auto* failed = llvm::BasicBlock::Create(context_, op->name + ".failed", function_);
      auto* ok = llvm::BasicBlock::Create(context_, op->name + ".ok", function_);
      builder_.CreateCondBr(builder_.CreateIsNull(raw), failed, ok);
      builder_.SetInsertPoint(failed);
      auto* free_type = llvm::FunctionType::get(builder_.getVoidTy(), {i8_ptr}, false);
      for (llvm::Value* outer : heap_) {
        builder_.CreateCall(module_->getOrInsertFunction("free", free_type), {outer});
      }
      builder_.CreateRet(builder_.getInt32(1));
      builder_.SetInsertPoint(ok);
      pointer = builder_.CreateBitCast(raw, FloatPtr());
      heap_.push_back(raw);
    }
    buffers_[op->name] = pointer;
    buffer_order_.push_back(op->name);
    EmitStmt(op->body, loop_depth);
    buffer_order_.pop_back();
    buffers_.erase(op->name);
    if (op->memory == ir::MemoryKind::kHeap) {
      auto* free_type = llvm::FunctionType::get(builder_.getVoidTy(), {i8_ptr}, false);
      builder_.CreateCall(module_->getOrInsertFunction("free", free_type), {heap_.back()});
      heap_.pop_back();
    }
  }

  void EmitFor(const ir::For* op, int loop_depth) {
    int64_t lanes = 0;
    if (op->for_kind == ir::ForKind::kVectorized) {
      // The vectorize_loops pass left only loops that can be vector code.
      FLEETTUNE_INTERNAL_CHECK(
          ir::IsConstInt(op->extent, &lanes) && lanes > 1 && ir::Vectorizable(op->body, op->var),
          "vectorized loop that is not vector code");
      return EmitVectorBody(op, lanes);
    }
    if (op->for_kind == ir::ForKind::kParallel && loop_depth == 0) return EmitParallelFor(op);
    EmitSerialLoop(op->var, EmitExpr(op->min),
                   builder_.CreateAdd(EmitExpr(op->min), EmitExpr(op->extent)), op->body,
                   loop_depth);
  }

  // for (var = begin; var < end; ++var) body
  void EmitSerialLoop(const std::string& var, llvm::Value* begin, llvm::Value* end,
                      const ir::Stmt& body, int loop_depth) {
    llvm::BasicBlock* preheader = builder_.GetInsertBlock();
    auto* header = llvm::BasicBlock::Create(context_, var + ".header", function_);
    auto* loop_body = llvm::BasicBlock::Create(context_, var + ".body", function_);
    auto* exit = llvm::BasicBlock::Create(context_, var + ".exit", function_);
    builder_.CreateBr(header);
    builder_.SetInsertPoint(header);
    llvm::PHINode* phi = builder_.CreatePHI(I64(), 2, var);
    phi->addIncoming(begin, preheader);
    builder_.CreateCondBr(builder_.CreateICmpSLT(phi, end), loop_body, exit);
    builder_.SetInsertPoint(loop_body);
    llvm::Value* shadowed = vars_.count(var) ? vars_[var] : nullptr;
    vars_[var] = phi;
    EmitStmt(body, loop_depth + 1);
    vars_[var] = shadowed;
    if (shadowed == nullptr) vars_.erase(var);
    llvm::Value* next = builder_.CreateAdd(phi, llvm::ConstantInt::get(I64(), 1), "", true, true);
    phi->addIncoming(next, builder_.GetInsertBlock());
    builder_.CreateBr(header);
    builder_.SetInsertPoint(exit);
  }

  // The loop body once, with every lane of `var` at the same time.
  void EmitVectorBody(const ir::For* op, int64_t lanes) {
    std::vector<ir::Stmt> stores;
    if (const ir::Block* block = op->body->As<ir::Block>()) {
      stores = block->stmts;
    } else {
      stores = {op->body};
    }
    for (const ir::Stmt& s : stores) {
      const ir::Store* store = s->As<ir::Store>();
      llvm::Value* value = EmitVectorExpr(store->value, op, lanes);
      llvm::Value* base = Address(store->buffer, LaneBase(store->index, op));
      auto* vector_ptr =
          builder_.CreateBitCast(base, llvm::FixedVectorType::get(F32(), lanes)->getPointerTo());
      builder_.CreateAlignedStore(value, vector_ptr, llvm::Align(4));
    }
  }

  // The index at lane 0.
  llvm::Value* LaneBase(const ir::Expr& index, const ir::For* loop) {
    return EmitExpr(ir::Simplify(ir::Substitute(index, loop->var, loop->min)));
  }

  llvm::Value* EmitVectorExpr(const ir::Expr& e, const ir::For* loop, int64_t lanes) {
    if (const ir::Load* load = e->As<ir::Load>()) {
      llvm::Value* base = Address(load->buffer, LaneBase(load->index, loop));
      int64_t stride = *ir::LaneStride(load->index, loop->var);
      if (stride == 0) {
        return builder_.CreateVectorSplat(lanes,
                                          builder_.CreateAlignedLoad(F32(), base, llvm::Align(4)));
      }
      auto* vector_type = llvm::FixedVectorType::get(F32(), lanes);
      if (stride >= 2 && stride <= kMaxShuffledStride) {
        // One load of the span the lanes cover ((lanes - 1) * stride + 1 elements, never
        // past the last one read) and a shuffle that picks every stride-th: a few vector
        // loads instead of `lanes` scalar loads and inserts (stride-2 depthwise and pooling
        // windows read their input this way).
        const int64_t span = (lanes - 1) * stride + 1;
        auto* span_type = llvm::FixedVectorType::get(F32(), span);
        llvm::Value* wide = builder_.CreateAlignedLoad(
            span_type, builder_.CreateBitCast(base, span_type->getPointerTo()), llvm::Align(4));
        std::vector<int> mask;
        for (int64_t lane = 0; lane < lanes; ++lane) mask.push_back(lane * stride);
        return builder_.CreateShuffleVector(wide, mask);
      }
      if (stride != 1) {
        llvm::Value* vector = llvm::UndefValue::get(vector_type);
        for (int64_t lane = 0; lane < lanes; ++lane) {
          llvm::Value* element = builder_.CreateAlignedLoad(
              F32(), builder_.CreateConstInBoundsGEP1_64(F32(), base, lane * stride),
              llvm::Align(4));
          vector = builder_.CreateInsertElement(vector, element, lane);
        }
        return vector;
      }
      return builder_.CreateAlignedLoad(
          vector_type, builder_.CreateBitCast(base, vector_type->getPointerTo()), llvm::Align(4));
    }
    if (const ir::FloatImm* imm = e->As<ir::FloatImm>()) {
      return builder_.CreateVectorSplat(lanes, llvm::ConstantFP::get(F32(), imm->value));
    }
    if (const ir::Call* call = e->As<ir::Call>()) {
      return FloatCall(call->op, EmitVectorExpr(call->arg, loop, lanes));
    }
    const ir::Binary* op = e->As<ir::Binary>();
    FLEETTUNE_INTERNAL_CHECK(op != nullptr, "unexpected node in vector code");
    return FloatBinary(op->op, EmitVectorExpr(op->a, loop, lanes),
                       EmitVectorExpr(op->b, loop, lanes));
  }

  // Runs the loop's iterations on libgomp threads: the loop becomes a function over an
  // iteration range, called from a worker that picks its thread's share.
  void EmitParallelFor(const ir::For* op) {
    uses_gomp_ = true;
    std::string prefix = absl::StrCat(signature_.symbol, ".parallel", (*outlined_)++);
    std::string lo = op->var + ".begin", hi = op->var + ".end";
    ir::Stmt range_loop =
        ir::MakeFor(op->var, ir::MakeVar(lo), ir::Sub(ir::MakeVar(hi), ir::MakeVar(lo)),
                    ir::ForKind::kSerial, op->body);
    FunctionEmitter range_emitter(module_, signature_, outlined_);
    range_emitter.in_parallel_region_ = true;
    const std::vector<std::string> buffers = buffer_order_;
    llvm::Function* range_fn =
        range_emitter.DefineFunction(prefix + ".range", buffers, {lo, hi}, range_loop);
    uses_gomp_ |= range_emitter.uses_gomp();

    llvm::Type* i32 = builder_.getInt32Ty();
    llvm::Type* i8_ptr = builder_.getInt8PtrTy();
    size_t num_buffers = buffers.size();
    auto* closure_type = llvm::ArrayType::get(FloatPtr(), num_buffers);
    auto* worker_type = llvm::FunctionType::get(builder_.getVoidTy(), {i8_ptr}, false);
    auto* worker = llvm::Function::Create(worker_type, llvm::Function::InternalLinkage,
                                          prefix + ".worker", module_);
    worker->addFnAttr(llvm::Attribute::NoUnwind);
    {
      llvm::IRBuilder<> b(llvm::BasicBlock::Create(context_, "entry", worker));
      llvm::Value* closure = b.CreateBitCast(worker->getArg(0), closure_type->getPointerTo());
      std::vector<llvm::Value*> args;
      for (size_t i = 0; i < num_buffers; ++i) {
        args.push_back(
            b.CreateLoad(FloatPtr(), b.CreateConstInBoundsGEP2_32(closure_type, closure, 0, i)));
      }
      auto omp_fn_type = llvm::FunctionType::get(i32, false);
      llvm::Value* threads = b.CreateSExt(
          b.CreateCall(module_->getOrInsertFunction("omp_get_num_threads", omp_fn_type)), I64());
      llvm::Value* thread = b.CreateSExt(
          b.CreateCall(module_->getOrInsertFunction("omp_get_thread_num", omp_fn_type)), I64());
      llvm::Value* extent = EmitExprWith(b, op->extent);
      llvm::Value* chunk =
          b.CreateSDiv(b.CreateAdd(extent, b.CreateSub(threads, b.getInt64(1))), threads);
      llvm::Value* begin = b.CreateMul(thread, chunk);
      llvm::Value* end = b.CreateAdd(begin, chunk);
      end = b.CreateSelect(b.CreateICmpSLT(end, extent), end, extent);
      llvm::Value* min = EmitExprWith(b, op->min);
      args.push_back(b.CreateAdd(min, begin));
      args.push_back(b.CreateAdd(min, b.CreateSelect(b.CreateICmpSLT(begin, end), end, begin)));
      b.CreateCall(range_fn, args);
      b.CreateRetVoid();
    }

    llvm::IRBuilder<> entry(&function_->getEntryBlock(), function_->getEntryBlock().begin());
    llvm::Value* closure = entry.CreateAlloca(closure_type);
    for (size_t i = 0; i < num_buffers; ++i) {
      builder_.CreateStore(buffers_.at(buffers[i]),
                           builder_.CreateConstInBoundsGEP2_32(closure_type, closure, 0, i));
    }
    auto* gomp_type = llvm::FunctionType::get(
        builder_.getVoidTy(), {worker_type->getPointerTo(), i8_ptr, i32, i32}, false);
    builder_.CreateCall(module_->getOrInsertFunction("GOMP_parallel", gomp_type),
                        {worker, builder_.CreateBitCast(closure, i8_ptr),
                         builder_.getInt32(signature_.threads), builder_.getInt32(0)});
  }

  // Emits a loop-invariant integer expression with another builder (no variables in scope).
  llvm::Value* EmitExprWith(llvm::IRBuilder<>& b, const ir::Expr& e) {
    int64_t value;
    FLEETTUNE_INTERNAL_CHECK(ir::IsConstInt(ir::Simplify(e), &value),
                             "parallel loop bounds must be constant");
    return b.getInt64(value);
  }

  llvm::Value* Address(const std::string& buffer, llvm::Value* index) {
    auto it = buffers_.find(buffer);
    FLEETTUNE_INTERNAL_CHECK(it != buffers_.end(), "unknown buffer");
    return builder_.CreateInBoundsGEP(F32(), it->second, index);
  }

  llvm::Value* EmitExpr(const ir::Expr& e) {
    switch (e->kind) {
      case ir::ExprKind::kIntImm:
        if (e->type == ir::Type::kBool) return builder_.getInt1(e->As<ir::IntImm>()->value != 0);
        return builder_.getInt64(e->As<ir::IntImm>()->value);
      case ir::ExprKind::kFloatImm:
        return llvm::ConstantFP::get(F32(), e->As<ir::FloatImm>()->value);
      case ir::ExprKind::kVar: {
        auto it = vars_.find(e->As<ir::Var>()->name);
        FLEETTUNE_INTERNAL_CHECK(it != vars_.end(), "variable used outside its loop");
        return it->second;
      }
      case ir::ExprKind::kLoad: {
        const ir::Load* load = e->As<ir::Load>();
        return builder_.CreateAlignedLoad(F32(), Address(load->buffer, EmitExpr(load->index)),
                                          llvm::Align(4));
      }
      case ir::ExprKind::kCall: {
        const ir::Call* call = e->As<ir::Call>();
        return FloatCall(call->op, EmitExpr(call->arg));
      }
      case ir::ExprKind::kBinary:
        break;
    }
    const ir::Binary* op = e->As<ir::Binary>();
    llvm::Value* a = EmitExpr(op->a);
    llvm::Value* b = EmitExpr(op->b);
    if (op->a->type == ir::Type::kFloat) return FloatBinary(op->op, a, b);
    switch (op->op) {
      case BinaryOp::kAdd:
        return builder_.CreateAdd(a, b);
      case BinaryOp::kSub:
        return builder_.CreateSub(a, b);
      case BinaryOp::kMul:
        return builder_.CreateMul(a, b);
      case BinaryOp::kDiv: {
        // Floor division: round the truncated quotient down when the signs differ.
        llvm::Value* quotient = builder_.CreateSDiv(a, b);
        llvm::Value* remainder = builder_.CreateSRem(a, b);
        llvm::Value* adjust = builder_.CreateAnd(
            builder_.CreateICmpNE(remainder, builder_.getInt64(0)),
            builder_.CreateICmpNE(builder_.CreateICmpSLT(remainder, builder_.getInt64(0)),
                                  builder_.CreateICmpSLT(b, builder_.getInt64(0))));
        return builder_.CreateSub(quotient, builder_.CreateZExt(adjust, I64()));
      }
      case BinaryOp::kMin:
        return builder_.CreateSelect(builder_.CreateICmpSLT(a, b), a, b);
      case BinaryOp::kMax:
        return builder_.CreateSelect(builder_.CreateICmpSGT(a, b), a, b);
      case BinaryOp::kLT:
        return builder_.CreateICmpSLT(a, b);
      case BinaryOp::kLE:
        return builder_.CreateICmpSLE(a, b);
      case BinaryOp::kGE:
        return builder_.CreateICmpSGE(a, b);
      case BinaryOp::kGT:
        return builder_.CreateICmpSGT(a, b);
      case BinaryOp::kEQ:
        return builder_.CreateICmpEQ(a, b);
    }
    return nullptr;
  }

  // llvm.exp / llvm.sqrt on a float or a float vector.
  llvm::Value* FloatCall(ir::CallOp op, llvm::Value* arg) {
    llvm::Intrinsic::ID id = op == ir::CallOp::kExp ? llvm::Intrinsic::exp : llvm::Intrinsic::sqrt;
    return builder_.CreateUnaryIntrinsic(id, arg);
  }

  // Float arithmetic on scalars or vectors alike.
  llvm::Value* FloatBinary(BinaryOp op, llvm::Value* a, llvm::Value* b) {
    switch (op) {
      case BinaryOp::kAdd:
        return builder_.CreateFAdd(a, b);
      case BinaryOp::kSub:
        return builder_.CreateFSub(a, b);
      case BinaryOp::kMul:
        return builder_.CreateFMul(a, b);
      case BinaryOp::kDiv:
        return builder_.CreateFDiv(a, b);
      case BinaryOp::kMin:
        return builder_.CreateSelect(builder_.CreateFCmpOLT(a, b), a, b);
      case BinaryOp::kMax:
        return builder_.CreateSelect(builder_.CreateFCmpOGT(a, b), a, b);
      case BinaryOp::kLT:
        return builder_.CreateFCmpOLT(a, b);
      case BinaryOp::kLE:
        return builder_.CreateFCmpOLE(a, b);
      case BinaryOp::kGE:
        return builder_.CreateFCmpOGE(a, b);
      case BinaryOp::kGT:
        return builder_.CreateFCmpOGT(a, b);
      case BinaryOp::kEQ:
        return builder_.CreateFCmpOEQ(a, b);
    }
    return nullptr;
  }

  llvm::Module* module_;
  llvm::LLVMContext& context_;
  llvm::IRBuilder<> builder_;
  const KernelSignature& signature_;
  int* outlined_;  // counter for unique names of outlined parallel loops
  llvm::Function* function_ = nullptr;
  std::map<std::string, llvm::Value*> buffers_;
  std::vector<std::string> buffer_order_;  // buffers in scope, arguments first
  std::vector<llvm::Value*> heap_;         // heap allocations in scope (innermost last)
  bool in_parallel_region_ = false;        // a failed allocation could not be reported here
  std::map<std::string, llvm::Value*> vars_;
  bool uses_gomp_ = false;
};

}  // namespace

bool EmitKernel(const ir::Stmt& body, const KernelSignature& signature, llvm::Module* module) {
  int outlined = 0;
  FunctionEmitter emitter(module, signature, &outlined);
  llvm::Function* body_fn =
      emitter.DefineFunction(signature.symbol + ".body", signature.buffers, {}, body);

  // int32_t symbol(void* const* args)
  llvm::LLVMContext& context = module->getContext();
  llvm::IRBuilder<> b(context);
  llvm::Type* i8_ptr = b.getInt8PtrTy();
  auto* type = llvm::FunctionType::get(b.getInt32Ty(), {i8_ptr->getPointerTo()}, false);
  auto* kernel =
      llvm::Function::Create(type, llvm::Function::ExternalLinkage, signature.symbol, module);
  kernel->addFnAttr(llvm::Attribute::NoUnwind);
  kernel->getArg(0)->setName("args");
  b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", kernel));
  std::vector<llvm::Value*> buffers;
  for (size_t i = 0; i < signature.buffers.size(); ++i) {
    llvm::Value* slot = b.CreateConstInBoundsGEP1_64(i8_ptr, kernel->getArg(0), i);
    llvm::Value* pointer = b.CreateLoad(i8_ptr, slot, signature.buffers[i]);
    buffers.push_back(b.CreateBitCast(pointer, llvm::Type::getFloatPtrTy(context)));
  }
  b.CreateRet(b.CreateCall(body_fn, buffers));
  return emitter.uses_gomp();
}

}  // namespace fleettune::codegen
