// The artifacts one MeasureTask carries (its candidate, a multi-candidate task's candidates,
// its reference) and the artifact-size rule they obey. One place for both: the tracker checks
// batches and dispatches by it, the tuner's client checks its own --max-artifact-mb by it.
#ifndef FLEETTUNE_TRACKER_TASK_ARTIFACTS_H_
#define FLEETTUNE_TRACKER_TASK_ARTIFACTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tracker {

// The artifacts `task` carries, by field name ("artifact", "reference",
// "candidates[2].artifact"); an unset one is empty and counts nothing.
std::vector<std::pair<std::string, const v1::Artifact*>> TaskArtifacts(const v1::MeasureTask& task);

// Whether `task`'s artifacts fit an artifact limit of `limit_bytes`: each one at most the
// limit, and all together at most net::TaskArtifactsLimitBytes (what one message has room
// for). Else InvalidArgument naming the field after `field_prefix` (e.g.
// "MeasureBatch.tasks[3].") or the task as `task_name`, the limit of `holder` and the
// `option` that raises it.
absl::Status CheckTaskArtifacts(const v1::MeasureTask& task, int64_t limit_bytes,
                                const std::string& field_prefix, const std::string& task_name,
                                const std::string& holder, const std::string& option);

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_TASK_ARTIFACTS_H_
