#include "codegen/simple_op.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "codegen/internal/compile_nest.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/simple_ops.h"
#include "util/seconds_since.h"

namespace fleettune::codegen {
namespace {

using simple_ops::SimpleOpKind;

const std::map<std::string, SimpleOpKind>& Kinds() {
  static const auto* kinds = [] {
    auto* map = new std::map<std::string, SimpleOpKind>;
    for (auto group : {simple_ops::ElementwiseOps, simple_ops::PoolingOps, simple_ops::LayoutOps,
                       simple_ops::LinearOps}) {
      for (SimpleOpKind& kind : group()) map->emplace(kind.type, std::move(kind));
    }
    return map;
  }();
  return *kinds;
}

std::string CHeader(const SimpleOp& op, const CheckedTarget& target, const std::string& symbol) {
  std::string text = absl::StrCat("// ", symbol, ": fleettune simple op ", op.type, " (opset ",
                                  op.opset, ", float32)\n// target: ", target.key(),
                                  "\n// args[i] point at dense row-major float32 buffers:\n");
  size_t arg = 0;
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    if (!op.inputs[i].present) continue;
    absl::StrAppend(&text, "//   args[", arg++, "] = input ", i, " ",
                    simple_ops::ShapeString(op.inputs[i].shape), "\n");
  }
  absl::StrAppend(
      &text, "//   args[", arg, "] = output ", simple_ops::ShapeString(op.output), "\n",
      KernelDeclaration(absl::StrCat("FLEETTUNE_SIMPLE_OP_", absl::AsciiStrToUpper(symbol), "_H_"),
                        symbol));
  return text;
}

}  // namespace

const std::vector<std::string>& SimpleOpTypes() {
  static const auto* types = [] {
    auto* list = new std::vector<std::string>;
    for (const auto& [type, kind] : Kinds()) list->push_back(type);
    return list;
  }();
  return *types;
}

absl::Status CheckSimpleOp(const SimpleOp& op) {
  auto it = Kinds().find(op.type);
  if (it == Kinds().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("op type '", op.type, "' has no simple-op kernel"));
  }
  for (const SimpleOpInput& input : op.inputs) {
    for (int64_t d : input.shape) {
      if (d < 1) {
        return simple_ops::Unsupported(
            op, absl::StrCat("input shape ", simple_ops::ShapeString(input.shape),
                             " has an empty or unknown dimension"));
      }
    }
  }
  for (int64_t d : op.output) {
    if (d < 1) {
      return simple_ops::Unsupported(
          op, absl::StrCat("output shape ", simple_ops::ShapeString(op.output),
                           " has an empty or unknown dimension"));
    }
  }
  return it->second.check(op);
}

absl::StatusOr<BuiltKernel> BuildSimpleOp(const SimpleOp& op, const CheckedTarget& target,
                                          const BuildOptions& options) {
  if (absl::Status s = CheckSymbol(options.symbol); !s.ok()) return s;
  if (target.is_opencl()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op.type, ": simple ops build for native targets only, not ", target.key()));
  }
  if (absl::Status s = CheckSimpleOp(op); !s.ok()) return s;
  auto start = std::chrono::steady_clock::now();
  simple_ops::NestContext context;
  context.threads = std::max(1, target.proto().threads());
  std::vector<std::string> buffers;
  for (const SimpleOpInput& input : op.inputs) {
    std::string name;
    if (input.present) {
      name = absl::StrCat("in", buffers.size());
      buffers.push_back(name);
    }
    context.inputs.push_back(name);
  }
  buffers.push_back(context.output);
  ir::Stmt nest = Kinds().at(op.type).build(op, context);
  BuiltKernel kernel;
  ir::Stmt lowered = RunLoweringPasses(nest, options.dump_ir ? &kernel.ir_dump : nullptr);
  kernel.lower_seconds = util::SecondsSince(start);
  kernel.c_header = CHeader(op, target, options.symbol);
  return CompileNest(lowered, buffers, target, options, std::move(kernel));
}

}  // namespace fleettune::codegen
