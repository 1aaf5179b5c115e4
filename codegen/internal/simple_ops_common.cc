#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/internal/simple_ops.h"

namespace fleettune::codegen::simple_ops {

absl::Status Unsupported(const SimpleOp& op, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(op.type, ": ", what));
}

absl::Status CheckAttributeNames(const SimpleOp& op, const std::vector<std::string>& ints,
                                 const std::vector<std::string>& floats) {
  for (const auto& [name, values] : op.int_attrs) {
    if (std::find(ints.begin(), ints.end(), name) == ints.end()) {
      return Unsupported(op, absl::StrCat("unsupported attribute '", name, "' (",
                                          absl::StrJoin(values, ","), ")"));
    }
  }
  for (const auto& [name, value] : op.float_attrs) {
    if (std::find(floats.begin(), floats.end(), name) == floats.end()) {
      return Unsupported(op, absl::StrCat("unsupported attribute '", name, "' (", value, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckInputCount(const SimpleOp& op, size_t min, size_t max, size_t required) {
  if (op.inputs.size() < min || op.inputs.size() > max) {
    return Unsupported(op, absl::StrCat(op.inputs.size(), " inputs, expected ", min,
                                        min == max ? "" : absl::StrCat(" to ", max)));
  }
  for (size_t i = 0; i < required; ++i) {
    if (!op.inputs[i].present) return Unsupported(op, absl::StrCat("input ", i, " is required"));
  }
  return absl::OkStatus();
}

int64_t IntAttr(const SimpleOp& op, const std::string& name, int64_t fallback) {
  auto it = op.int_attrs.find(name);
  return it == op.int_attrs.end() || it->second.empty() ? fallback : it->second[0];
}

std::vector<int64_t> IntsAttr(const SimpleOp& op, const std::string& name,
                              std::vector<int64_t> fallback) {
  auto it = op.int_attrs.find(name);
  return it == op.int_attrs.end() ? fallback : it->second;
}

float FloatAttr(const SimpleOp& op, const std::string& name, float fallback) {
  auto it = op.float_attrs.find(name);
  return it == op.float_attrs.end() ? fallback : it->second;
}

int64_t NormalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return -1;
  return axis < 0 ? axis + rank : axis;
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

ir::Stmt OuterLoop(const std::string& var, int64_t extent, bool parallel,
                   const std::function<ir::Stmt(ir::Expr)>& body) {
  return ir::MakeFor(var, ir::MakeInt(0), ir::MakeInt(extent),
                     parallel ? ir::ForKind::kParallel : ir::ForKind::kSerial,
                     body(ir::MakeVar(var)));
}

ir::Stmt VectorLoop(const std::string& var, ir::Expr begin, ir::Expr extent,
                    const std::function<ir::Stmt(ir::Expr)>& body) {
  using ir::MakeInt;
  const ir::Expr lanes = MakeInt(kVectorLanes);
  int64_t constant = -1;
  ir::IsConstInt(extent, &constant);
  std::vector<ir::Stmt> stmts;
  ir::Expr vectors = ir::Div(extent, lanes);
  ir::Expr done = ir::Mul(vectors, lanes);
  if (constant < 0 || constant >= kVectorLanes) {
    std::string outer = var + ".v", lane = var + ".l";
    ir::Expr index = ir::Add(begin, ir::Add(ir::Mul(ir::MakeVar(outer), lanes), ir::MakeVar(lane)));
    stmts.push_back(
        ir::MakeFor(outer, MakeInt(0), vectors, ir::ForKind::kSerial,
                    ir::MakeFor(lane, MakeInt(0), lanes, ir::ForKind::kVectorized, body(index))));
  }
  if (constant < 0 || constant % kVectorLanes != 0) {
    std::string tail = var + ".t";
    stmts.push_back(ir::MakeFor(tail, MakeInt(0), ir::Sub(extent, done), ir::ForKind::kSerial,
                                body(ir::Add(begin, ir::Add(done, ir::MakeVar(tail))))));
  }
  return stmts.size() == 1 ? stmts[0] : ir::MakeBlock(stmts);
}

ir::Stmt SerialLoop(const std::string& var, ir::Expr begin, ir::Expr end,
                    const std::function<ir::Stmt(ir::Expr)>& body) {
  return ir::MakeFor(var, begin, ir::Sub(end, begin), ir::ForKind::kSerial, body(ir::MakeVar(var)));
}

bool UseParallel(const NestContext& context, int64_t extent, int64_t work) {
  return context.threads > 1 && extent >= 2 && work >= kParallelMinWork;
}

}  // namespace fleettune::codegen::simple_ops
