// The name of a tuning job: the text that groups a run's records in the database (the
// `job` of db::Record), which --resume continues and `history` shows.
#ifndef FLEETTUNE_TUNER_JOB_NAME_H_
#define FLEETTUNE_TUNER_JOB_NAME_H_

#include <string>

#include "absl/status/statusor.h"
#include "db/database.h"
#include "tuner/tuning_job.h"

namespace fleettune::tuner {

// The job name of a run of `options` on `database`: options.job_name when set; otherwise
// `workload@YYYYMMDDTHHMMSS-xxxxxxxx` (UTC start time and 32 random bits), one that no
// record carries yet. FailedPrecondition naming the name, before anything is written, when a
// given name already has records and options.resume is not set: two runs writing one job
// would interleave their trial numbers. The check and the run's first write are not one
// transaction: two runs started at the same moment with the same given name both pass.
absl::StatusOr<std::string> ChooseJobName(const TuneOptions& options, db::Database& database);

// ChooseJobName for any job: `job_name` when set (refused as above unless `resume`), else
// `subject@YYYYMMDDTHHMMSS-xxxxxxxx`. A model job's subject is the model's name.
absl::StatusOr<std::string> ChooseJobNameFor(const std::string& subject,
                                             const std::string& job_name, bool resume,
                                             db::Database& database);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_JOB_NAME_H_
