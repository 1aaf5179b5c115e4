// Model jobs as the tracker's status shows them: the progress (v1::JobProgress) each job name
// last sent, kept between its batches.
//
// A model job (`fleettune tune --model`) submits many batches under one job name, each
// carrying the job's progress; between two batches the job has none at the tracker. So the
// tracker keeps, per name, the progress of the most recently submitted batch, while the name
// has unfinished batches and for a retention after its last one finished. The list is bounded
// twice: idle names older than the retention are forgotten, and past its capacity the name
// idle longest goes first (a running one, least recently submitted, only when none is idle).
#ifndef FLEETTUNE_TRACKER_MODEL_JOBS_H_
#define FLEETTUNE_TRACKER_MODEL_JOBS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tracker {

// Not thread-safe: the Scheduler guards its list with its own mutex.
class ModelJobs {
 public:
  // `retention_ms` 0: a name is forgotten as soon as its last batch finishes.
  ModelJobs(int64_t retention_ms, size_t capacity)
      : retention_ms_(retention_ms), capacity_(capacity) {}

  // A batch of job `name` with `progress` was submitted to `device_key` at `now_unix_ms`: the
  // name's progress becomes this one and the name counts as running until Idle(name).
  void Submitted(const std::string& name, const std::string& device_key,
                 const v1::JobProgress& progress, int64_t now_unix_ms);

  // The last unfinished batch of `name` finished (or was cancelled) at `now_unix_ms`: its
  // retention starts. Names not listed are ignored.
  void Idle(const std::string& name, int64_t now_unix_ms);

  // Forgets the names idle for more than the retention before `now_unix_ms`.
  void Expire(int64_t now_unix_ms);

  // Copies the entries, ordered by name, to reply->model_jobs.
  void AppendTo(v1::StatusReply* reply) const;

 private:
  // Makes room for one more name when the list is full (see the header comment).
  void EvictOne();

  const int64_t retention_ms_;
  const size_t capacity_;
  std::map<std::string, v1::ModelJobStatus> jobs_;  // by name
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_MODEL_JOBS_H_
