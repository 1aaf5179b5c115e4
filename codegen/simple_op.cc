// Placeholder until the simple-ops templates land: no op type is supported.
#include "codegen/simple_op.h"

#include "absl/strings/str_cat.h"

namespace fleettune::codegen {

const std::vector<std::string>& SimpleOpTypes() {
  static const std::vector<std::string> kTypes;
  return kTypes;
}

absl::Status CheckSimpleOp(const SimpleOp& op) {
  return absl::InvalidArgumentError(absl::StrCat("op type '", op.type, "' is not supported"));
}

absl::StatusOr<BuiltKernel> BuildSimpleOp(const SimpleOp& op, const CheckedTarget&,
                                          const BuildOptions&) {
  return CheckSimpleOp(op);
}

}  // namespace fleettune::codegen
