// A target that has been checked: a v1::Target known to be valid, with its canonical key.
//
// Target strings from users and keys read back from the database become a CheckedTarget
// where they enter; code inside takes the checked value and neither re-validates nor re-keys
// it. Made only by Parse or Check, so holding one is the proof that ValidateTarget passed.
#ifndef FLEETTUNE_CODEGEN_CHECKED_TARGET_H_
#define FLEETTUNE_CODEGEN_CHECKED_TARGET_H_

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// Immutable after construction; copyable; thread-safe (const methods only).
class CheckedTarget {
 public:
  // Parses `text` as ParseTarget does (`host` resolved on this machine), with its
  // InvalidArgument (same message) for a bad string.
  static absl::StatusOr<CheckedTarget> Parse(std::string_view text);
  // Checks a message received from elsewhere as ValidateTarget does, with its InvalidArgument
  // (same message).
  static absl::StatusOr<CheckedTarget> Check(v1::Target target);

  const v1::Target& proto() const { return target_; }
  // TargetKey: the canonical form with every field explicit, the database key.
  const std::string& key() const { return key_; }
  // IsOpenClTarget.
  bool is_opencl() const { return target_.kind() == v1::TARGET_KIND_OPENCL; }

 private:
  CheckedTarget(v1::Target target, std::string key)
      : target_(std::move(target)), key_(std::move(key)) {}

  v1::Target target_;
  std::string key_;
};

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_CHECKED_TARGET_H_
