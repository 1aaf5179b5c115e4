// The JSON the tracker's web listener answers under /api/v1/ (docs/web.md): protobuf's JSON
// mapping of the status messages, exactly as `fleettune status --json` prints them, and the
// columnar trial history of one job.
#ifndef FLEETTUNE_TRACKER_WEB_API_H_
#define FLEETTUNE_TRACKER_WEB_API_H_

#include <cstdint>
#include <string>

#include "fleettune/v1/fleettune.pb.h"
#include "tracker/job_history.h"

namespace fleettune::tracker {

// `status` as `fleettune status --json` prints it (indented, every field present). The one
// place that format is defined: the CLI calls it too.
std::string StatusJson(const v1::StatusReply& status);

// GET /api/v1/boards: {"version", "nowUnixMs", "boards", "lostBoards"}.
std::string BoardsJson(const v1::StatusReply& status, int64_t now_unix_ms);
// GET /api/v1/queues: {"nowUnixMs", "queues"}.
std::string QueuesJson(const v1::StatusReply& status, int64_t now_unix_ms);
// GET /api/v1/jobs: {"nowUnixMs", "jobs"} (status.job_summaries, in their order).
std::string JobsJson(const v1::StatusReply& status, int64_t now_unix_ms);
// GET /api/v1/jobs/{name}/history: {"name", "summary", "first", "next", "trials",
// "workloads", "estimates"}.
std::string HistoryJson(const JobHistory::Slice& slice);

// {"error": message}, for the API's error answers.
std::string ErrorJson(const std::string& message);

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_WEB_API_H_
