// How large a kernel artifact (a shared object a MeasureTask carries, twice with its
// reference) may be, and the gRPC message limit that follows from it. One rule for the
// tracker, the board runtime and the tuner's client, so that a limit raised on all three with
// `--max-artifact-mb` lets the same tasks through everywhere.
#ifndef FLEETTUNE_NET_ARTIFACT_LIMIT_H_
#define FLEETTUNE_NET_ARTIFACT_LIMIT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace fleettune::net {

// The default of every `--max-artifact-mb`: room for ResNet-50 (about 100 MB of weights
// embedded in the network's shared object).
inline constexpr int kDefaultMaxArtifactMb = 512;
// The largest `--max-artifact-mb`: a task with two artifacts of this size, plus its other
// fields, still fits one gRPC message (at most 2 GiB - 1 bytes).
inline constexpr int kLargestMaxArtifactMb = 1000;

// `mb` MiB in bytes.
inline constexpr int64_t MebibytesToBytes(int mb) { return int64_t{mb} << 20; }

// The gRPC message size that lets one task with two artifacts of `max_artifact_bytes` each
// through, with room for its other fields: 2 x max_artifact_bytes + 16 MiB, at most 2 GiB - 1.
int MessageLimitBytes(int64_t max_artifact_bytes);

// The most bytes all artifacts of one task may take together under an artifact limit of
// `max_artifact_bytes`: the room MessageLimitBytes leaves for a candidate and its reference
// (twice the limit), which a multi-candidate task's candidates share with its reference.
inline constexpr int64_t TaskArtifactsLimitBytes(int64_t max_artifact_bytes) {
  return 2 * max_artifact_bytes;
}

// InvalidArgument unless `mb` lies in [1, kLargestMaxArtifactMb]; the message names `flag`.
absl::Status CheckMaxArtifactMb(const std::string& flag, int mb);

// InvalidArgument for `what` (e.g. "MeasureBatch.tasks[3].artifact.shared_object") of `bytes`
// bytes, over the artifact limit `limit_bytes` of `holder` (e.g. "the tracker") that `option`
// (e.g. "fleettune tracker --max-artifact-mb") sets: it names the limit hit, its value, and
// the option that raises it.
absl::Status ArtifactTooLarge(const std::string& what, int64_t bytes, int64_t limit_bytes,
                              const std::string& holder, const std::string& option);

// InvalidArgument for the artifacts of one task, `what` (e.g. "the artifacts of
// MeasureBatch.tasks[3]"), of `bytes` bytes together, over TaskArtifactsLimitBytes of the
// artifact limit `limit_bytes` of `holder` that `option` sets: it names both limits and the
// option.
absl::Status TaskArtifactsTooLarge(const std::string& what, int64_t bytes, int64_t limit_bytes,
                                   const std::string& holder, const std::string& option);

}  // namespace fleettune::net

#endif  // FLEETTUNE_NET_ARTIFACT_LIMIT_H_
