// Sliding windows shared by pooling and Conv: ONNX's padding rules and the loops over the
// taps of a window that read the input.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/internal/simple_ops.h"

namespace fleettune::codegen::simple_ops {
namespace {

using ir::Expr;
using ir::MakeInt;

// ceil(a / b) for b > 0 with the IR's floor division.
Expr CeilDiv(Expr a, int64_t b) { return ir::Div(ir::Add(a, MakeInt(b - 1)), MakeInt(b)); }

}  // namespace

absl::Status ResolveWindow(const SimpleOp& op, const std::vector<int64_t>& kernel,
                           const std::vector<int64_t>& input, const std::vector<int64_t>& output,
                           bool ceil_mode, bool dilations_allowed, Window* window) {
  const size_t rank = kernel.size();
  Window w;
  w.kernel = kernel;
  w.input = input;
  w.output = output;
  w.strides = IntsAttr(op, "strides", std::vector<int64_t>(rank, 1));
  w.dilations = IntsAttr(op, "dilations", std::vector<int64_t>(rank, 1));
  std::vector<int64_t> pads = IntsAttr(op, "pads", std::vector<int64_t>(2 * rank, 0));
  const int64_t auto_pad = IntAttr(op, "auto_pad", 0);
  if (w.strides.size() != rank || w.dilations.size() != rank || pads.size() != 2 * rank) {
    return Unsupported(
        op, absl::StrCat("strides/dilations/pads do not match a ", rank, "-d kernel (",
                         absl::StrJoin(w.strides, ","), " / ", absl::StrJoin(w.dilations, ","),
                         " / ", absl::StrJoin(pads, ","), ")"));
  }
  if (auto_pad < 0 || auto_pad > 3) {
    return Unsupported(op, absl::StrCat("unsupported auto_pad ", auto_pad));
  }
  if (auto_pad != 0 && op.int_attrs.count("pads")) {
    return Unsupported(op, "pads given together with auto_pad");
  }
  for (size_t d = 0; d < rank; ++d) {
    if (w.kernel[d] < 1 || w.strides[d] < 1 || w.dilations[d] < 1 || pads[d] < 0 ||
        pads[rank + d] < 0) {
      return Unsupported(op, absl::StrCat("kernel ", absl::StrJoin(w.kernel, ","), " strides ",
                                          absl::StrJoin(w.strides, ","), " dilations ",
                                          absl::StrJoin(w.dilations, ","), " pads ",
                                          absl::StrJoin(pads, ","), ": values out of range"));
    }
    if (!dilations_allowed && w.dilations[d] != 1) {
      return Unsupported(
          op, absl::StrCat("unsupported dilations ", absl::StrJoin(w.dilations, ","), " (only 1)"));
    }
  }
  std::vector<int64_t> expected(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t span = (w.kernel[d] - 1) * w.dilations[d] + 1, s = w.strides[d];
    int64_t begin = pads[d], end = pads[rank + d];
    if (auto_pad == 1) begin = end = 0;
    if (auto_pad >= 2) {
      const int64_t out = (input[d] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + span - input[d]);
      begin = auto_pad == 2 ? total / 2 : total - total / 2;
      end = total - begin;
    }
    w.pad_begin.push_back(begin);
    w.pad_end.push_back(end);
    const int64_t room = input[d] + begin + end - span;
    if (room < 0) {
      return Unsupported(op, absl::StrCat("window ", span, " is larger than the padded input ",
                                          input[d] + begin + end));
    }
    expected[d] = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
  }
  for (size_t d = 0; d < rank; ++d) {
    const bool dropped_last = ceil_mode && output[d] == expected[d] - 1 &&
                              (expected[d] - 1) * w.strides[d] >= input[d] + w.pad_begin[d];
    if (output[d] != expected[d] && !dropped_last) {
      return Unsupported(op, absl::StrCat("output spatial shape ", ShapeString(output),
                                          " is not the window's ", ShapeString(expected)));
    }
  }
  *window = std::move(w);
  return absl::OkStatus();
}

Expr FirstTap(const Window& w, size_t d, const Expr& out, bool padded) {
  if (padded) return MakeInt(0);  // a window starts inside the padded input
  // The first k with out * stride - pad + k * dilation >= 0.
  Expr first = CeilDiv(ir::Sub(MakeInt(w.pad_begin[d]), ir::Mul(out, MakeInt(w.strides[d]))),
                       w.dilations[d]);
  return ir::Max(first, MakeInt(0));
}

Expr EndTap(const Window& w, size_t d, const Expr& out, bool padded) {
  // One past the last k with out * stride - pad + k * dilation < limit.
  const int64_t limit = w.input[d] + (padded ? w.pad_end[d] : 0);
  Expr end = CeilDiv(ir::Sub(MakeInt(limit + w.pad_begin[d]), ir::Mul(out, MakeInt(w.strides[d]))),
                     w.dilations[d]);
  return ir::Min(end, MakeInt(w.kernel[d]));
}

ir::Stmt WindowLoops(const std::string& prefix, const Window& w, const std::vector<Expr>& out,
                     const std::function<ir::Stmt(const std::vector<Expr>& taps,
                                                  const std::vector<Expr>& positions)>& body) {
  const size_t rank = w.kernel.size();
  std::vector<Expr> taps(rank), positions(rank);
  std::function<ir::Stmt(size_t)> loop = [&](size_t d) -> ir::Stmt {
    if (d == rank) return body(taps, positions);
    return SerialLoop(
        absl::StrCat(prefix, d), FirstTap(w, d, out[d]), EndTap(w, d, out[d]), [&](Expr k) {
          taps[d] = k;
          positions[d] =
              ir::Add(ir::Sub(ir::Mul(out[d], MakeInt(w.strides[d])), MakeInt(w.pad_begin[d])),
                      ir::Mul(k, MakeInt(w.dilations[d])));
          return loop(d + 1);
        });
  };
  return loop(0);
}

ir::Stmt WithAccumulator(
    const std::string& name, Expr init,
    const std::function<ir::Stmt(Expr value, std::function<ir::Stmt(Expr)> set)>& body) {
  auto set = [name](Expr v) { return ir::MakeStore(name, MakeInt(0), v); };
  return ir::MakeAllocate(name, 1, ir::MemoryKind::kStack,
                          ir::MakeBlock({set(init), body(ir::MakeLoad(name, MakeInt(0)), set)}));
}

}  // namespace fleettune::codegen::simple_ops
