#include "tracker/model_jobs.h"

#include <utility>

namespace fleettune::tracker {
namespace {

// Which of two entries goes first when the list is full: an idle one before a running one,
// then the one idle longest, then (both running) the one submitted least recently.
bool EvictsBefore(const v1::ModelJobStatus& a, const v1::ModelJobStatus& b) {
  const bool a_idle = a.idle_since_unix_ms() != 0;
  const bool b_idle = b.idle_since_unix_ms() != 0;
  if (a_idle != b_idle) return a_idle;
  if (a_idle) return a.idle_since_unix_ms() < b.idle_since_unix_ms();
  return a.submitted_unix_ms() < b.submitted_unix_ms();
}

}  // namespace

void ModelJobs::Submitted(const std::string& name, const std::string& device_key,
                          const v1::JobProgress& progress, int64_t now_unix_ms) {
  if (capacity_ == 0) return;  // keeping none
  if (jobs_.count(name) == 0 && jobs_.size() >= capacity_) EvictOne();
  v1::ModelJobStatus& job = jobs_[name];
  job.set_name(name);
  job.set_device_key(device_key);
  job.set_submitted_unix_ms(now_unix_ms);
  job.set_idle_since_unix_ms(0);
  *job.mutable_progress() = progress;
}

void ModelJobs::Idle(const std::string& name, int64_t now_unix_ms) {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return;
  if (retention_ms_ == 0) {
    jobs_.erase(it);
    return;
  }
  it->second.set_idle_since_unix_ms(now_unix_ms);
}

void ModelJobs::Expire(int64_t now_unix_ms) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const int64_t idle_since = it->second.idle_since_unix_ms();
    if (idle_since != 0 && now_unix_ms - idle_since > retention_ms_) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void ModelJobs::AppendTo(v1::StatusReply* reply) const {
  for (const auto& [name, job] : jobs_) *reply->add_model_jobs() = job;
}

void ModelJobs::EvictOne() {
  auto victim = jobs_.begin();
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (EvictsBefore(it->second, victim->second)) victim = it;
  }
  if (victim != jobs_.end()) jobs_.erase(victim);
}

}  // namespace fleettune::tracker
