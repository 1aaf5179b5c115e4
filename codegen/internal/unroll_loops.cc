#include "codegen/internal/unroll_loops.h"

#include <vector>

#include "codegen/internal/ir_mutator.h"

namespace fleettune::codegen::ir {
namespace {

class Unroller : public IRMutator {
 protected:
  Stmt MutateFor(const Stmt& s, const For* op) override {
    Stmt rewritten = IRMutator::MutateFor(s, op);
    const For* loop = rewritten->As<For>();
    if (loop->for_kind != ForKind::kUnrolled) return rewritten;
    int64_t extent;
    if (!IsConstInt(loop->extent, &extent) || extent > kMaxUnrollExtent) {
      return MakeFor(loop->var, loop->min, loop->extent, ForKind::kSerial, loop->body);
    }
    std::vector<Stmt> copies;
    copies.reserve(extent);
    for (int64_t i = 0; i < extent; ++i) {
      copies.push_back(Substitute(loop->body, loop->var, Add(loop->min, MakeInt(i))));
    }
    return MakeBlock(std::move(copies));
  }
};

}  // namespace

Stmt UnrollLoops(const Stmt& s) { return Unroller().Mutate(s); }

}  // namespace fleettune::codegen::ir
