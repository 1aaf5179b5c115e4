// Kernels for the ops of a network that no tuned template builds (pooling, elementwise ops,
// softmax, copies, the general forms of Conv/Gemm/MatMul): one fixed schedule per op type,
// parallel over the outer loops and vectorized along contiguous inner loops where that is
// easy. See docs/codegen.md ("Simple ops") for what each op type supports.
#ifndef FLEETTUNE_CODEGEN_SIMPLE_OP_H_
#define FLEETTUNE_CODEGEN_SIMPLE_OP_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "codegen/build.h"
#include "codegen/checked_target.h"

namespace fleettune::codegen {

struct SimpleOpInput {
  bool present = true;         // false: an omitted optional ONNX input (not an argument)
  std::vector<int64_t> shape;  // {} is a scalar
};

// An op of a network that no tuned template builds: its ONNX type and attributes, the
// shapes of its inputs (ONNX order) and of its output.
struct SimpleOp {
  std::string type;                                       // ONNX op type, e.g. "MaxPool"
  std::map<std::string, std::vector<int64_t>> int_attrs;  // INT attribute: one value
  std::map<std::string, float> float_attrs;
  std::vector<SimpleOpInput> inputs;
  std::vector<int64_t> output;
  int opset = 13;  // the model's default-domain opset
};

// The ONNX op types BuildSimpleOp builds, sorted. Thread-safe.
const std::vector<std::string>& SimpleOpTypes();

// OK when BuildSimpleOp can build `op`; InvalidArgument naming the op type and the
// unsupported attribute, value or shape otherwise. Thread-safe.
absl::Status CheckSimpleOp(const SimpleOp& op);

// Builds `op` as a kernel with the kernel ABI: args are the present inputs in order, then the
// output, dense row-major float32. Honours options.symbol and options.object_only.
// InvalidArgument as CheckSimpleOp, for a symbol that is not a C identifier or for an `opencl`
// target (native targets only); Internal when LLVM or the linker fails. Thread-safe.
absl::StatusOr<BuiltKernel> BuildSimpleOp(const SimpleOp& op, const CheckedTarget& target,
                                          const BuildOptions& options = {});

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_SIMPLE_OP_H_
