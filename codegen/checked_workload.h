// A workload that has been checked: a v1::Workload known to be valid, with its canonical key.
//
// Strings from users and messages from the network become a CheckedWorkload where they enter
// (the CLI, the database's keys, the Compiler API); code inside takes the checked value and
// neither re-validates nor re-keys it. Made only by Parse or Check, so holding one is the
// proof that ValidateWorkload passed.
#ifndef FLEETTUNE_CODEGEN_CHECKED_WORKLOAD_H_
#define FLEETTUNE_CODEGEN_CHECKED_WORKLOAD_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// Immutable after construction; copyable; thread-safe (const methods only).
class CheckedWorkload {
 public:
  // Parses `text` as ParseWorkload does, with its InvalidArgument (same message) for a bad
  // string. proto() is ParseWorkload's canonical message.
  static absl::StatusOr<CheckedWorkload> Parse(std::string_view text);
  // Checks a message received from elsewhere (the network, a caller's proto) as
  // ValidateWorkload does, with its InvalidArgument (same message). The message is kept as
  // given (an optional parameter at its default stays); the key is canonical either way.
  static absl::StatusOr<CheckedWorkload> Check(v1::Workload workload);

  const v1::Workload& proto() const { return workload_; }
  // WorkloadKey: the canonical string, the database key.
  const std::string& key() const { return key_; }
  const std::string& op() const { return workload_.op(); }

  // WorkloadTensors and WorkloadFlops, without checking the workload again.
  std::vector<v1::TensorSpec> Tensors() const;
  double Flops() const;

 private:
  CheckedWorkload(v1::Workload workload, std::string key)
      : workload_(std::move(workload)), key_(std::move(key)) {}

  v1::Workload workload_;
  std::string key_;
};

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_CHECKED_WORKLOAD_H_
