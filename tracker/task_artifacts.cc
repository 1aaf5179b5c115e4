#include "tracker/task_artifacts.h"

#include "absl/strings/str_cat.h"
#include "net/artifact_limit.h"

namespace fleettune::tracker {

std::vector<std::pair<std::string, const v1::Artifact*>> TaskArtifacts(
    const v1::MeasureTask& task) {
  std::vector<std::pair<std::string, const v1::Artifact*>> artifacts = {
      {"artifact", &task.artifact()}, {"reference", &task.reference()}};
  for (int c = 0; c < task.candidates_size(); ++c) {
    artifacts.emplace_back(absl::StrCat("candidates[", c, "].artifact"),
                           &task.candidates(c).artifact());
  }
  return artifacts;
}

absl::Status CheckTaskArtifacts(const v1::MeasureTask& task, int64_t limit_bytes,
                                const std::string& field_prefix, const std::string& task_name,
                                const std::string& holder, const std::string& option) {
  int64_t total = 0;
  for (const auto& [name, artifact] : TaskArtifacts(task)) {
    const int64_t bytes = static_cast<int64_t>(artifact->shared_object().size());
    if (bytes > limit_bytes) {
      return net::ArtifactTooLarge(absl::StrCat(field_prefix, name, ".shared_object"), bytes,
                                   limit_bytes, holder, option);
    }
    total += bytes;
  }
  if (total > net::TaskArtifactsLimitBytes(limit_bytes)) {
    return net::TaskArtifactsTooLarge(absl::StrCat("the artifacts of ", task_name), total,
                                      limit_bytes, holder, option);
  }
  return absl::OkStatus();
}

}  // namespace fleettune::tracker
