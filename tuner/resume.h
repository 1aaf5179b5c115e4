// --resume: what a tuning job takes over from the database's records before it measures.
#ifndef FLEETTUNE_TUNER_RESUME_H_
#define FLEETTUNE_TUNER_RESUME_H_

#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "codegen/search_space.h"
#include "db/database.h"
#include "tuner/search.h"
#include "tuner/tuning_job.h"

namespace fleettune::tuner {

// Feeds every record of (options.workload, options.target, options.device_key) in `database`
// to `search` and adds its config's index to `measured`, so it is never measured again;
// DEVICE_LOST records are skipped (a lost board is not the config's fault). When
// options.job_name is empty, `summary.job` becomes the latest record's job. That job's
// records count into `summary`: trials (trial numbers continue after the highest), failures,
// timeouts, best, default_gflops and resumed_trials. Nothing changes without a record. The
// database's error when it cannot be read, with `summary`, `search` and `measured` unchanged.
absl::Status ResumeFromDatabase(const TuneOptions& options, db::Database& database,
                                const codegen::SearchSpace& space, Search& search,
                                absl::flat_hash_set<uint64_t>& measured, TuneSummary& summary);

// Counts `record` into summary.timeouts and first_timeout when it ended TIMEOUT; shared by
// resume and the job recording new trials.
void CountTimeout(const db::Record& record, TuneSummary& summary);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_RESUME_H_
