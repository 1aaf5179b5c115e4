// Elementwise simple ops: Relu, Clip, Add/Sub/Mul/Div (numpy broadcasting), the copies
// (Identity, Flatten, Reshape) and inference BatchNormalization.
#include <cfloat>

#include "absl/strings/str_cat.h"
#include "codegen/internal/simple_ops.h"

namespace fleettune::codegen::simple_ops {
namespace {

using ir::Expr;
using ir::MakeInt;
using ir::Stmt;

// The output's dimensions after dropping 1s and merging neighbours that every operand
// broadcasts alike, and each operand's element stride along them (0: broadcast).
struct MergedBroadcast {
  std::vector<int64_t> extents;
  std::vector<std::vector<int64_t>> strides;  // [operand][dim]
};

MergedBroadcast MergeBroadcast(const std::vector<int64_t>& out,
                               const std::vector<std::vector<int64_t>>& operands) {
  const size_t rank = out.size();
  // broadcast[k][d]: operand k repeats along output dim d.
  std::vector<std::vector<bool>> broadcast(operands.size(), std::vector<bool>(rank));
  for (size_t k = 0; k < operands.size(); ++k) {
    size_t offset = rank - operands[k].size();
    for (size_t d = 0; d < rank; ++d) {
      int64_t extent = d < offset ? 1 : operands[k][d - offset];
      broadcast[k][d] = extent == 1;
    }
  }
  MergedBroadcast merged;
  std::vector<std::vector<bool>> merged_broadcast(operands.size());
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    bool same = !merged.extents.empty();
    for (size_t k = 0; same && k < operands.size(); ++k) {
      same = merged_broadcast[k].back() == broadcast[k][d];
    }
    if (same) {
      merged.extents.back() *= out[d];
      continue;
    }
    merged.extents.push_back(out[d]);
    for (size_t k = 0; k < operands.size(); ++k) merged_broadcast[k].push_back(broadcast[k][d]);
  }
  if (merged.extents.empty()) {
    merged.extents = {1};
    for (auto& b : merged_broadcast) b = {true};
  }
  for (size_t k = 0; k < operands.size(); ++k) {
    std::vector<int64_t> strides(merged.extents.size());
    int64_t stride = 1;
    for (size_t d = merged.extents.size(); d-- > 0;) {
      strides[d] = merged_broadcast[k][d] ? 0 : stride;
      if (!merged_broadcast[k][d]) stride *= merged.extents[d];
    }
    merged.strides.push_back(strides);
  }
  return merged;
}

// out = value(operand loads) over the output, the operands (buffers with shapes that
// broadcast to the output) read at their broadcast index.
Stmt BroadcastNest(const NestContext& context, const std::vector<int64_t>& out,
                   const std::vector<std::string>& buffers,
                   const std::vector<std::vector<int64_t>>& shapes,
                   const std::function<Expr(const std::vector<Expr>&)>& value) {
  MergedBroadcast merged = MergeBroadcast(out, shapes);
  const size_t rank = merged.extents.size();
  const int64_t inner = merged.extents.back();
  const int64_t total = NumElements(out);
  auto store = [&](const std::vector<Expr>& index, Expr flat) {
    std::vector<Expr> loads;
    for (size_t k = 0; k < buffers.size(); ++k) {
      Expr offset = MakeInt(0);
      for (size_t d = 0; d < rank; ++d) {
        if (merged.strides[k][d] != 0) {
          offset = ir::Add(offset, ir::Mul(index[d], MakeInt(merged.strides[k][d])));
        }
      }
      loads.push_back(ir::MakeLoad(buffers[k], offset));
    }
    return ir::MakeStore(context.output, flat, value(loads));
  };
  if (rank == 1) {
    // One flat loop: chunks of it run in parallel.
    int64_t chunk = total;
    if (UseParallel(context, total / 1024, total)) {
      chunk = (total + context.threads * 4 - 1) / (context.threads * 4);
      chunk = (chunk + kVectorLanes - 1) / kVectorLanes * kVectorLanes;
    }
    if (chunk == total) {
      return VectorLoop("i", MakeInt(0), MakeInt(total), [&](Expr i) { return store({i}, i); });
    }
    return OuterLoop("c", (total + chunk - 1) / chunk, true, [&](Expr c) {
      Expr begin = ir::Mul(c, MakeInt(chunk));
      return VectorLoop("i", begin, ir::Min(MakeInt(chunk), ir::Sub(MakeInt(total), begin)),
                        [&](Expr i) { return store({i}, i); });
    });
  }
  const int64_t outer = total / inner;
  return OuterLoop("o", outer, UseParallel(context, outer, total), [&](Expr o) {
    // The outer dims back from the fused loop, innermost first.
    std::vector<Expr> index(rank);
    Expr rest = o;
    for (size_t d = rank - 1; d-- > 0;) {
      index[d] = d == 0 ? rest
                        : ir::Sub(rest, ir::Mul(ir::Div(rest, MakeInt(merged.extents[d])),
                                                MakeInt(merged.extents[d])));
      rest = ir::Div(rest, MakeInt(merged.extents[d]));
    }
    return VectorLoop("i", MakeInt(0), MakeInt(inner), [&](Expr i) {
      index[rank - 1] = i;
      return store(index, ir::Add(ir::Mul(o, MakeInt(inner)), i));
    });
  });
}

absl::Status CheckSameShape(const SimpleOp& op) {
  if (NumElements(op.inputs[0].shape) != NumElements(op.output)) {
    return Unsupported(op, absl::StrCat("input ", ShapeString(op.inputs[0].shape), " and output ",
                                        ShapeString(op.output), " differ in size"));
  }
  return absl::OkStatus();
}

// An op of one input computing `fn` per element (a copy when `fn` is the identity).
SimpleOpKind Unary(const std::string& type, std::vector<std::string> ints, size_t max_inputs,
                   std::function<Expr(const SimpleOp&, const NestContext&, Expr)> fn) {
  SimpleOpKind kind;
  kind.type = type;
  kind.check = [ints, max_inputs](const SimpleOp& op) {
    if (absl::Status s = CheckAttributeNames(op, ints, {}); !s.ok()) return s;
    if (absl::Status s = CheckInputCount(op, 1, max_inputs, 1); !s.ok()) return s;
    return CheckSameShape(op);
  };
  kind.build = [fn](const SimpleOp& op, const NestContext& context) {
    std::vector<int64_t> flat = {NumElements(op.output)};
    return BroadcastNest(context, flat, {context.inputs[0]}, {flat},
                         [&](const std::vector<Expr>& v) { return fn(op, context, v[0]); });
  };
  return kind;
}

SimpleOpKind BinaryKind(const std::string& type, ir::BinaryOp binary) {
  SimpleOpKind kind;
  kind.type = type;
  kind.check = [](const SimpleOp& op) {
    // `broadcast`/`axis` (before opset 7) are legacy broadcasting: not supported.
    if (absl::Status s = CheckAttributeNames(op, {}, {}); !s.ok()) return s;
    if (absl::Status s = CheckInputCount(op, 2, 2, 2); !s.ok()) return s;
    const std::vector<int64_t>& out = op.output;
    for (const SimpleOpInput& input : op.inputs) {
      bool ok = input.shape.size() <= out.size();
      for (size_t d = 0; ok && d < input.shape.size(); ++d) {
        int64_t extent = input.shape[input.shape.size() - 1 - d];
        ok = extent == 1 || extent == out[out.size() - 1 - d];
      }
      if (!ok) {
        return Unsupported(op, absl::StrCat("input ", ShapeString(input.shape),
                                            " does not broadcast to output ", ShapeString(out)));
      }
    }
    return absl::OkStatus();
  };
  kind.build = [binary](const SimpleOp& op, const NestContext& context) {
    return BroadcastNest(context, op.output, {context.inputs[0], context.inputs[1]},
                         {op.inputs[0].shape, op.inputs[1].shape}, [&](const std::vector<Expr>& v) {
                           return ir::MakeBinary(binary, v[0], v[1]);
                         });
  };
  return kind;
}

Expr Identity(const SimpleOp&, const NestContext&, Expr x) { return x; }

Expr Relu(const SimpleOp&, const NestContext&, Expr x) { return ir::Max(x, ir::MakeFloat(0)); }

// Before opset 11 the bounds are attributes; from 11 optional scalar inputs read at run time.
Expr Clip(const SimpleOp& op, const NestContext& context, Expr x) {
  if (op.opset < 11) {
    return ir::Min(ir::Max(x, ir::MakeFloat(FloatAttr(op, "min", -FLT_MAX))),
                   ir::MakeFloat(FloatAttr(op, "max", FLT_MAX)));
  }
  if (context.inputs.size() > 1 && !context.inputs[1].empty()) {
    x = ir::Max(x, ir::MakeLoad(context.inputs[1], MakeInt(0)));
  }
  if (context.inputs.size() > 2 && !context.inputs[2].empty()) {
    x = ir::Min(x, ir::MakeLoad(context.inputs[2], MakeInt(0)));
  }
  return x;
}

SimpleOpKind ClipKind() {
  SimpleOpKind kind = Unary("Clip", {}, 3, Clip);
  auto check = kind.check;
  kind.check = [check](const SimpleOp& op) {
    if (op.opset < 11) {
      for (const auto& [name, value] : op.float_attrs) {
        if (name != "min" && name != "max") {
          return Unsupported(op, absl::StrCat("unsupported attribute '", name, "'"));
        }
      }
      SimpleOp rest = op;
      rest.float_attrs.clear();
      if (op.inputs.size() != 1) return Unsupported(op, "takes one input before opset 11");
      return check(rest);
    }
    if (absl::Status s = check(op); !s.ok()) return s;
    for (size_t i = 1; i < op.inputs.size(); ++i) {
      if (op.inputs[i].present && NumElements(op.inputs[i].shape) != 1) {
        return Unsupported(op, absl::StrCat("bound input ", i, " ", ShapeString(op.inputs[i].shape),
                                            " is not a scalar"));
      }
    }
    return absl::OkStatus();
  };
  return kind;
}

// Inference: y = (x - mean) * scale / sqrt(var + epsilon) + B, per channel (dim 1).
absl::Status CheckBatchNorm(const SimpleOp& op) {
  if (absl::Status s = CheckAttributeNames(
          op, {"spatial", "training_mode", "is_test", "consumed_inputs"}, {"epsilon", "momentum"});
      !s.ok()) {
    return s;
  }
  if (IntAttr(op, "training_mode", 0) != 0) {
    return Unsupported(op, "unsupported training_mode 1 (inference only)");
  }
  if (IntAttr(op, "spatial", 1) != 1) return Unsupported(op, "unsupported spatial 0");
  if (absl::Status s = CheckInputCount(op, 5, 5, 5); !s.ok()) return s;
  const std::vector<int64_t>& x = op.inputs[0].shape;
  if (x.size() < 2 || x != op.output) {
    return Unsupported(op, absl::StrCat("input ", ShapeString(x), " and output ",
                                        ShapeString(op.output), " are not one [N, C, ...] shape"));
  }
  for (size_t i = 1; i < 5; ++i) {
    if (op.inputs[i].shape != std::vector<int64_t>{x[1]}) {
      return Unsupported(op, absl::StrCat("input ", i, " ", ShapeString(op.inputs[i].shape),
                                          " is not [C] = [", x[1], "]"));
    }
  }
  return absl::OkStatus();
}

Stmt BuildBatchNorm(const SimpleOp& op, const NestContext& context) {
  std::vector<int64_t> per_channel(op.output.size() - 1, 1);
  per_channel[0] = op.output[1];
  const float epsilon = FloatAttr(op, "epsilon", 1e-5f);
  return BroadcastNest(context, op.output, context.inputs,
                       {op.output, per_channel, per_channel, per_channel, per_channel},
                       [&](const std::vector<Expr>& v) {
                         Expr factor =
                             ir::Div(v[1], ir::Sqrt(ir::Add(v[4], ir::MakeFloat(epsilon))));
                         return ir::Add(ir::Mul(ir::Sub(v[0], v[3]), factor), v[2]);
                       });
}

}  // namespace

std::vector<SimpleOpKind> ElementwiseOps() {
  std::vector<SimpleOpKind> kinds = {
      Unary("Relu", {}, 1, Relu),
      ClipKind(),
      Unary("Identity", {}, 1, Identity),
      Unary("Flatten", {"axis"}, 1, Identity),
      // The shape input (int64) is an argument the kernel does not read.
      Unary("Reshape", {"allowzero"}, 2, Identity),
      BinaryKind("Add", ir::BinaryOp::kAdd),
      BinaryKind("Sub", ir::BinaryOp::kSub),
      BinaryKind("Mul", ir::BinaryOp::kMul),
      BinaryKind("Div", ir::BinaryOp::kDiv),
      {"BatchNormalization", CheckBatchNorm, BuildBatchNorm},
  };
  return kinds;
}

}  // namespace fleettune::codegen::simple_ops
