#include "net/artifact_limit.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fleettune::net {
namespace {

constexpr int64_t kTaskOverheadBytes = int64_t{16} << 20;

std::string Mebibytes(int64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

}  // namespace

int MessageLimitBytes(int64_t max_artifact_bytes) {
  const int64_t wanted = 2 * std::max<int64_t>(max_artifact_bytes, 0) + kTaskOverheadBytes;
  return static_cast<int>(std::min<int64_t>(wanted, std::numeric_limits<int>::max()));
}

absl::Status CheckMaxArtifactMb(const std::string& flag, int mb) {
  if (mb < 1 || mb > kLargestMaxArtifactMb) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " must be a number of MiB in [1, ",
                                                   kLargestMaxArtifactMb, "], got ", mb));
  }
  return absl::OkStatus();
}

absl::Status ArtifactTooLarge(const std::string& what, int64_t bytes, int64_t limit_bytes,
                              const std::string& holder, const std::string& option) {
  return absl::InvalidArgumentError(absl::StrCat(
      what, " is ", bytes, " bytes (", Mebibytes(bytes), "), over the artifact limit of ", holder,
      ", ", limit_bytes, " bytes (", Mebibytes(limit_bytes), "); raise it with ", option,
      " (MiB, at most ", kLargestMaxArtifactMb, ")"));
}

absl::Status TaskArtifactsTooLarge(const std::string& what, int64_t bytes, int64_t limit_bytes,
                                   const std::string& holder, const std::string& option) {
  const int64_t together = TaskArtifactsLimitBytes(limit_bytes);
  return absl::InvalidArgumentError(absl::StrCat(
      what, " take ", bytes, " bytes (", Mebibytes(bytes), ") together, over the ", together,
      " bytes (", Mebibytes(together), ") one task may carry: twice the artifact limit of ", holder,
      ", ", limit_bytes, " bytes; raise it with ", option, " (MiB, at most ", kLargestMaxArtifactMb,
      ") or measure fewer candidates in one task"));
}

}  // namespace fleettune::net
