#include "codegen/internal/interpret_nest.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace fleettune::codegen {
namespace {

using ir::BinaryOp;
using ir::Expr;
using ir::Stmt;

// What a running nest reads and writes: the loop variables and the buffers, by slot. The
// first error stops every loop and block.
struct Frame {
  std::vector<int64_t> vars;
  std::vector<absl::Span<float>> buffers;
  std::vector<std::string> buffer_names;
  absl::Status error;
};

using IntFn = std::function<int64_t(Frame&)>;  // kInt and kBool (0/1) expressions
using FloatFn = std::function<float(Frame&)>;
using StmtFn = std::function<void(Frame&)>;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) --q;
  return q;
}

// The element `index` of buffer `slot`, or null after recording an OutOfRange error.
float* Element(Frame& frame, int slot, int64_t index, const char* access) {
  absl::Span<float> buffer = frame.buffers[slot];
  if (index >= 0 && index < static_cast<int64_t>(buffer.size())) return &buffer[index];
  if (frame.error.ok()) {
    frame.error =
        absl::OutOfRangeError(absl::StrCat(access, " '", frame.buffer_names[slot], "' at ", index,
                                           ", outside [0, ", buffer.size(), ")"));
  }
  return nullptr;
}

// Translates the IR into closures over slots. Scopes follow the IR: a loop's variable and an
// Allocate's buffer are visible in their bodies only.
class Translator {
 public:
  explicit Translator(const HostBuffers& buffers) {
    for (const auto& [name, span] : buffers) BindBuffer(name);
  }
  int var_slots() const { return var_slots_; }
  int buffer_slots() const { return static_cast<int>(buffer_names_.size()); }
  const std::vector<std::string>& buffer_names() const { return buffer_names_; }

  absl::StatusOr<StmtFn> Translate(const Stmt& s) {
    if (const auto* op = s->As<ir::For>()) return TranslateFor(op);
    if (const auto* op = s->As<ir::Store>()) {
      auto slot = BufferSlot(op->buffer);
      auto index = TranslateInt(op->index);
      auto value = TranslateFloat(op->value);
      if (!slot.ok()) return slot.status();
      if (!index.ok()) return index.status();
      if (!value.ok()) return value.status();
      return StmtFn([slot = *slot, index = *index, value = *value](Frame& f) {
        float v = value(f);
        if (float* element = Element(f, slot, index(f), "store to"); element != nullptr) {
          *element = v;
        }
      });
    }
    if (const auto* op = s->As<ir::Block>()) {
      std::vector<StmtFn> stmts;
      for (const Stmt& stmt : op->stmts) {
        absl::StatusOr<StmtFn> fn = Translate(stmt);
        if (!fn.ok()) return fn.status();
        stmts.push_back(*std::move(fn));
      }
      return StmtFn([stmts = std::move(stmts)](Frame& f) {
        for (const StmtFn& stmt : stmts) {
          if (!f.error.ok()) return;
          stmt(f);
        }
      });
    }
    if (const auto* op = s->As<ir::IfThenElse>()) {
      auto condition = TranslateInt(op->condition);
      if (!condition.ok()) return condition.status();
      auto then_case = Translate(op->then_case);
      if (!then_case.ok()) return then_case.status();
      StmtFn else_case = [](Frame&) {};
      if (op->else_case) {
        auto translated = Translate(op->else_case);
        if (!translated.ok()) return translated.status();
        else_case = *std::move(translated);
      }
      return StmtFn([condition = *condition, then_case = *then_case, else_case](Frame& f) {
        if (condition(f) != 0) {
          then_case(f);
        } else {
          else_case(f);
        }
      });
    }
    const auto* op = s->As<ir::Allocate>();
    if (op == nullptr) return absl::InvalidArgumentError("interpret: unsupported statement");
    auto shadowed = buffer_scope_.find(op->name);
    std::optional<int> previous;
    if (shadowed != buffer_scope_.end()) previous = shadowed->second;
    int slot = BindBuffer(op->name);
    absl::StatusOr<StmtFn> body = Translate(op->body);
    if (previous) {
      buffer_scope_[op->name] = *previous;
    } else {
      buffer_scope_.erase(op->name);
    }
    if (!body.ok()) return body.status();
    return StmtFn([slot, size = op->size, body = *body](Frame& f) {
      std::vector<float> storage(size, std::nanf(""));
      f.buffers[slot] = absl::MakeSpan(storage);
      body(f);
      f.buffers[slot] = {};
    });
  }

 private:
  int BindBuffer(const std::string& name) {
    int slot = static_cast<int>(buffer_names_.size());
    buffer_names_.push_back(name);
    buffer_scope_[name] = slot;
    return slot;
  }

  absl::StatusOr<int> BufferSlot(const std::string& name) const {
    auto it = buffer_scope_.find(name);
    if (it == buffer_scope_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("interpret: unbound buffer '", name, "'"));
    }
    return it->second;
  }

  absl::StatusOr<StmtFn> TranslateFor(const ir::For* op) {
    auto min = TranslateInt(op->min);
    auto extent = TranslateInt(op->extent);
    if (!min.ok()) return min.status();
    if (!extent.ok()) return extent.status();
    std::vector<int>& scope = var_scope_[op->var];
    const int slot = var_slots_++;
    scope.push_back(slot);
    absl::StatusOr<StmtFn> body = Translate(op->body);
    var_scope_[op->var].pop_back();
    if (!body.ok()) return body.status();
    return StmtFn([slot, min = *min, extent = *extent, body = *body](Frame& f) {
      const int64_t first = min(f), end = first + extent(f);
      for (int64_t v = first; v < end && f.error.ok(); ++v) {
        f.vars[slot] = v;
        body(f);
      }
    });
  }

  absl::StatusOr<IntFn> TranslateInt(const Expr& e) {
    if (e->type == ir::Type::kFloat) {
      return absl::InvalidArgumentError("interpret: a float expression where an integer belongs");
    }
    if (const auto* imm = e->As<ir::IntImm>()) {
      return IntFn([value = imm->value](Frame&) { return value; });
    }
    if (const auto* var = e->As<ir::Var>()) {
      auto it = var_scope_.find(var->name);
      if (it == var_scope_.end() || it->second.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("interpret: unbound variable '", var->name, "'"));
      }
      return IntFn([slot = it->second.back()](Frame& f) { return f.vars[slot]; });
    }
    const auto* op = e->As<ir::Binary>();
    if (op == nullptr) return absl::InvalidArgumentError("interpret: unsupported expression");
    if (op->a->type == ir::Type::kFloat) {
      auto a = TranslateFloat(op->a);
      auto b = TranslateFloat(op->b);
      if (!a.ok()) return a.status();
      if (!b.ok()) return b.status();
      return IntFn([op = op->op, a = *a, b = *b](Frame& f) -> int64_t {
        const float x = a(f), y = b(f);
        switch (op) {
          case BinaryOp::kLT:
            return x < y;
          case BinaryOp::kLE:
            return x <= y;
          case BinaryOp::kGE:
            return x >= y;
          case BinaryOp::kGT:
            return x > y;
          default:  // kEQ: MakeBinary types float arithmetic as float
            return x == y;
        }
      });
    }
    auto a = TranslateInt(op->a);
    auto b = TranslateInt(op->b);
    if (!a.ok()) return a.status();
    if (!b.ok()) return b.status();
    return IntFn([op = op->op, a = *a, b = *b](Frame& f) -> int64_t {
      const int64_t x = a(f), y = b(f);
      switch (op) {
        case BinaryOp::kAdd:
          return x + y;
        case BinaryOp::kSub:
          return x - y;
        case BinaryOp::kMul:
          return x * y;
        case BinaryOp::kDiv:
          if (y == 0) {
            if (f.error.ok()) f.error = absl::OutOfRangeError("interpret: division by zero");
            return 0;
          }
          return FloorDiv(x, y);
        case BinaryOp::kMin:
          return x < y ? x : y;
        case BinaryOp::kMax:
          return x > y ? x : y;
        case BinaryOp::kLT:
          return x < y;
        case BinaryOp::kLE:
          return x <= y;
        case BinaryOp::kGE:
          return x >= y;
        case BinaryOp::kGT:
          return x > y;
        case BinaryOp::kEQ:
          return x == y;
      }
      return 0;
    });
  }

  absl::StatusOr<FloatFn> TranslateFloat(const Expr& e) {
    if (e->type != ir::Type::kFloat) {
      return absl::InvalidArgumentError("interpret: an integer expression where a float belongs");
    }
    if (const auto* imm = e->As<ir::FloatImm>()) {
      return FloatFn([value = static_cast<float>(imm->value)](Frame&) { return value; });
    }
    if (const auto* load = e->As<ir::Load>()) {
      auto slot = BufferSlot(load->buffer);
      auto index = TranslateInt(load->index);
      if (!slot.ok()) return slot.status();
      if (!index.ok()) return index.status();
      return FloatFn([slot = *slot, index = *index](Frame& f) {
        const float* element = Element(f, slot, index(f), "load from");
        return element != nullptr ? *element : 0.0f;
      });
    }
    const auto* op = e->As<ir::Binary>();
    if (op == nullptr) return absl::InvalidArgumentError("interpret: unsupported expression");
    auto a = TranslateFloat(op->a);
    auto b = TranslateFloat(op->b);
    if (!a.ok()) return a.status();
    if (!b.ok()) return b.status();
    // Min and max select as the code generator does: a when a < b (a > b), else b.
    return FloatFn([op = op->op, a = *a, b = *b](Frame& f) -> float {
      const float x = a(f), y = b(f);
      switch (op) {
        case BinaryOp::kAdd:
          return x + y;
        case BinaryOp::kSub:
          return x - y;
        case BinaryOp::kMul:
          return x * y;
        case BinaryOp::kDiv:
          return x / y;
        case BinaryOp::kMin:
          return x < y ? x : y;
        default:  // kMax: comparisons are typed kBool and never reach here
          return x > y ? x : y;
      }
    });
  }

  std::map<std::string, std::vector<int>> var_scope_;  // name -> slots, innermost last
  int var_slots_ = 0;
  std::map<std::string, int> buffer_scope_;
  std::vector<std::string> buffer_names_;  // by slot
};

}  // namespace

absl::Status InterpretNest(const ir::Stmt& nest, const HostBuffers& buffers) {
  Translator translator(buffers);
  absl::StatusOr<StmtFn> run = translator.Translate(nest);
  if (!run.ok()) return run.status();
  Frame frame;
  frame.vars.assign(translator.var_slots(), 0);
  frame.buffers.resize(translator.buffer_slots());
  frame.buffer_names = translator.buffer_names();
  int slot = 0;
  for (const auto& [name, span] : buffers) frame.buffers[slot++] = span;  // bound in map order
  (*run)(frame);
  return frame.error;
}

}  // namespace fleettune::codegen
