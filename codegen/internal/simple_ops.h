// The op types behind BuildSimpleOp (codegen/simple_op.h) and the helpers they share.
//
// Each op type checks its attributes and shapes (Check) and, once they passed, builds its
// loop nest (Build) over buffers named in0, in1, ... (the present inputs, in ONNX order;
// an omitted optional input has no buffer) and `out`. The nests are built directly in the
// loop-nest IR with a fixed schedule: the outermost loop parallel when the target has several
// threads and the op is big enough, the innermost contiguous loop vectorized. The lowering
// passes (lower.h) and CompileNest take it from there. Internal to codegen/.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_SIMPLE_OPS_H_
#define FLEETTUNE_CODEGEN_INTERNAL_SIMPLE_OPS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "codegen/internal/ir.h"
#include "codegen/simple_op.h"

namespace fleettune::codegen::simple_ops {

// What a nest needs to know besides the op.
struct NestContext {
  std::vector<std::string> inputs;  // buffer of each ONNX input; "" for an omitted one
  std::string output = "out";
  int threads = 1;
};

struct SimpleOpKind {
  std::string type;
  // Attributes, input count and shapes; InvalidArgument naming the op type and what is wrong.
  std::function<absl::Status(const SimpleOp&)> check;
  // The nest; only called after `check` passed.
  std::function<ir::Stmt(const SimpleOp&, const NestContext&)> build;
};

// The op types of each group (one .cc file each).
std::vector<SimpleOpKind> ElementwiseOps();  // Relu, Clip, Add, Sub, Mul, Div, copies, BN
std::vector<SimpleOpKind> PoolingOps();      // MaxPool, AveragePool, GlobalAveragePool
std::vector<SimpleOpKind> LayoutOps();       // Concat, Softmax
std::vector<SimpleOpKind> LinearOps();       // Conv, Gemm, MatMul

// ---- Checking helpers: InvalidArgument "<type>: <what>" ---------------------------------
absl::Status Unsupported(const SimpleOp& op, const std::string& what);
// Every attribute of `op` is among `ints` / `floats`.
absl::Status CheckAttributeNames(const SimpleOp& op, const std::vector<std::string>& ints,
                                 const std::vector<std::string>& floats);
// Between `min` and `max` inputs, the first `required` of them present.
absl::Status CheckInputCount(const SimpleOp& op, size_t min, size_t max, size_t required);
// The single value of INT attribute `name`, or `fallback` when absent.
int64_t IntAttr(const SimpleOp& op, const std::string& name, int64_t fallback);
// The values of INTS attribute `name`, or `fallback` when absent.
std::vector<int64_t> IntsAttr(const SimpleOp& op, const std::string& name,
                              std::vector<int64_t> fallback);
float FloatAttr(const SimpleOp& op, const std::string& name, float fallback);
// `axis` in [-rank, rank) made non-negative; -1 when out of range.
int64_t NormalizeAxis(int64_t axis, int64_t rank);
int64_t NumElements(const std::vector<int64_t>& shape);
std::string ShapeString(const std::vector<int64_t>& shape);

// ---- Nest helpers ----------------------------------------------------------------------
// Elements from which an op's outer loop runs in parallel (when the target has threads).
inline constexpr int64_t kParallelMinWork = 1 << 15;
inline constexpr int64_t kVectorLanes = 8;

// for (var, 0, extent) body(var): parallel when `parallel`.
ir::Stmt OuterLoop(const std::string& var, int64_t extent, bool parallel,
                   const std::function<ir::Stmt(ir::Expr)>& body);
// body(begin + i) for i in [0, extent): full vectors of kVectorLanes lanes (a vectorized
// loop), then a serial tail. `extent` may be a variable expression.
ir::Stmt VectorLoop(const std::string& var, ir::Expr begin, ir::Expr extent,
                    const std::function<ir::Stmt(ir::Expr)>& body);
// A serial loop over [begin, end).
ir::Stmt SerialLoop(const std::string& var, ir::Expr begin, ir::Expr end,
                    const std::function<ir::Stmt(ir::Expr)>& body);
// Whether an op of `work` elements should run its outer loop of `extent` in parallel.
bool UseParallel(const NestContext& context, int64_t extent, int64_t work);

// ---- Sliding windows (pooling, Conv) ---------------------------------------------------
// ONNX's window attributes over the spatial dims, resolved: pads from auto_pad (an INT
// attribute as graph::ImportOnnx gives it: 0 NOTSET, 1 VALID, 2 SAME_UPPER, 3 SAME_LOWER).
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end;
  std::vector<int64_t> input, output;  // spatial extents
};

// Reads strides, dilations (when `dilations_allowed`), pads and auto_pad for a window of
// `kernel` over the spatial `input` extents and checks that `output` is what ONNX gives
// (floor, or with `ceil_mode` ceil, of the sliding positions; with ceil_mode a last window
// that starts past the input and its left padding may be dropped).
absl::Status ResolveWindow(const SimpleOp& op, const std::vector<int64_t>& kernel,
                           const std::vector<int64_t>& input, const std::vector<int64_t>& output,
                           bool ceil_mode, bool dilations_allowed, Window* window);

// Loops over the taps of `window` at output position `out` (one index per spatial dim) that
// fall inside the input (not the padding): body(taps, input positions).
ir::Stmt WindowLoops(const std::string& prefix, const Window& window,
                     const std::vector<ir::Expr>& out,
                     const std::function<ir::Stmt(const std::vector<ir::Expr>& taps,
                                                  const std::vector<ir::Expr>& positions)>& body);

// The first tap of `window` along `dim` at output position `out` that reads the input, and
// one past the last (a range that may be empty); with `padded`, those inside the padded
// input instead.
ir::Expr FirstTap(const Window& window, size_t dim, const ir::Expr& out, bool padded = false);
ir::Expr EndTap(const Window& window, size_t dim, const ir::Expr& out, bool padded = false);

// A float scalar in a stack buffer (a register after LLVM's SROA): body(load, store).
ir::Stmt WithAccumulator(
    const std::string& name, ir::Expr init,
    const std::function<ir::Stmt(ir::Expr value, std::function<ir::Stmt(ir::Expr)> set)>& body);

}  // namespace fleettune::codegen::simple_ops

#endif  // FLEETTUNE_CODEGEN_INTERNAL_SIMPLE_OPS_H_
