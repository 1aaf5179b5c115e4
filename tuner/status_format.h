// How `fleettune status` reads: the tracker's StatusReply as text tables.
#ifndef FLEETTUNE_TUNER_STATUS_FORMAT_H_
#define FLEETTUNE_TUNER_STATUS_FORMAT_H_

#include <cstdint>
#include <string>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tuner {

// The tracker's boards (with their measurement noise: NOISE, the median coefficient of
// variation of repeats as a percentage, "-" before a board has one), lost boards, queues and
// jobs as text tables, ages measured against `now_unix_ms`. Jobs whose batches carry progress
// (model jobs) are shown once per job name, however many batches they have: the model, trials of
// the total, the estimated network latency, their batches' task counts summed, and a table of the
// model's tasks. The progress shown is the latest the tracker has for the name
// (StatusReply.model_jobs, else the batch submitted last). A model job between batches (listed in
// model_jobs only) says when its last batch finished. Other jobs are rows of the JOB table.
std::string FormatStatus(const v1::StatusReply& status, int64_t now_unix_ms);
// The same at the current time.
std::string FormatStatus(const v1::StatusReply& status);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_STATUS_FORMAT_H_
