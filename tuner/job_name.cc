#include "tuner/job_name.h"

#include <cstdint>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fleettune::tuner {
namespace {

// `subject@YYYYMMDDTHHMMSS-xxxxxxxx`: the start time for people, and 32 random bits so that
// jobs started in the same second (two tuners on one database) never share a name, which
// would merge their records into one job with every trial number twice.
std::string DefaultJobName(const std::string& subject) {
  std::random_device random;
  return absl::StrCat(subject, "@",
                      absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::UTCTimeZone()), "-",
                      absl::StrFormat("%08x", static_cast<uint32_t>(random())));
}

// The number of records of job `name` in `database`, of any workload.
absl::StatusOr<int64_t> JobRecords(db::Database& database, const std::string& name) {
  db::Query query;
  query.job = name;
  return database.Count(query);
}

}  // namespace

absl::StatusOr<std::string> ChooseJobName(const TuneOptions& options, db::Database& database) {
  return ChooseJobNameFor(options.workload.key(), options.job_name, options.resume, database);
}

absl::StatusOr<std::string> ChooseJobNameFor(const std::string& subject,
                                             const std::string& job_name, bool resume,
                                             db::Database& database) {
  if (!job_name.empty()) {
    if (resume) return job_name;
    absl::StatusOr<int64_t> records = JobRecords(database, job_name);
    if (!records.ok()) return records.status();
    if (*records > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--job '", job_name, "' already has ", *records,
          " records in this database; pass --resume to continue that job, or choose a new "
          "--job name (or none: each run then gets a unique one)"));
    }
    return job_name;
  }
  // A random suffix already makes a clash unlikely; checking makes a stored one impossible.
  for (int attempt = 0;; ++attempt) {
    std::string name = DefaultJobName(subject);
    absl::StatusOr<int64_t> records = JobRecords(database, name);
    if (!records.ok()) return records.status();
    if (*records == 0 || attempt == 3) return name;
  }
}

}  // namespace fleettune::tuner
