#include "codegen/checked_target.h"

#include "codegen/target.h"

namespace fleettune::codegen {

absl::StatusOr<CheckedTarget> CheckedTarget::Parse(std::string_view text) {
  absl::StatusOr<v1::Target> target = ParseTarget(text);
  if (!target.ok()) return target.status();
  std::string key = TargetKey(*target);
  return CheckedTarget(*std::move(target), std::move(key));
}

absl::StatusOr<CheckedTarget> CheckedTarget::Check(v1::Target target) {
  if (absl::Status valid = ValidateTarget(target); !valid.ok()) return valid;
  std::string key = TargetKey(target);
  return CheckedTarget(std::move(target), std::move(key));
}

}  // namespace fleettune::codegen
