// The one way a public codegen function that takes unchecked messages checks them: through
// CheckedWorkload::Check and CheckedTarget::Check, then into its checked overload.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_WITH_CHECKED_H_
#define FLEETTUNE_CODEGEN_INTERNAL_WITH_CHECKED_H_

#include <utility>

#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// Checks `workload`, then `target` (the first error is returned, InvalidArgument naming the
// bad part), and returns `checked(workload, target)` with the checked values. `checked`
// returns an absl::StatusOr.
template <typename Checked>
auto WithChecked(const v1::Workload& workload, const v1::Target& target, const Checked& checked)
    -> decltype(checked(std::declval<const CheckedWorkload&>(),
                        std::declval<const CheckedTarget&>())) {
  absl::StatusOr<CheckedWorkload> checked_workload = CheckedWorkload::Check(workload);
  if (!checked_workload.ok()) return checked_workload.status();
  absl::StatusOr<CheckedTarget> checked_target = CheckedTarget::Check(target);
  if (!checked_target.ok()) return checked_target.status();
  return checked(*checked_workload, *checked_target);
}

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_WITH_CHECKED_H_
