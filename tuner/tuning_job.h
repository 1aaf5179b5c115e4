// The tuning loop: propose configs, build them on a pool of threads, measure them on boards
// through a tracker, and record every result in the database.
#ifndef FLEETTUNE_TUNER_TUNING_JOB_H_
#define FLEETTUNE_TUNER_TUNING_JOB_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "db/database.h"
#include "fleettune/v1/fleettune.pb.h"
#include "tuner/confirm.h"

namespace fleettune::tuner {

struct TuneOptions {
  // What to tune, checked where it entered (the CLI parses the user's strings once).
  TuneOptions(codegen::CheckedWorkload workload, codegen::CheckedTarget target)
      : workload(std::move(workload)), target(std::move(target)) {}

  codegen::CheckedWorkload workload;
  codegen::CheckedTarget target;
  std::string device_key = "local";
  std::string tracker_address;  // host:port of a running tracker
  std::string tracker_token;    // the tracker's client token, if it has one
  std::string tracker_tls_ca;   // PEM roots: talk TLS to the tracker; empty: plaintext
  int trials = 64;
  std::string tuner = "xgb";  // xgb | ga | random | grid
  // Same seed, same database contents: same configs proposed, except by xgb where its
  // planning budget (a share of each round's cost, tuner/planning_budget.h) cut its work
  // short, which depends on the machine's speed.
  uint64_t seed = 0;
  int early_stop = 0;  // stop after this many trials without a new best; 0: never
  // Continue from the database: configs with a record for this workload, target and device
  // are never measured again, the search starts from them, and the latest job's trials count
  // towards `trials` (its name and trial numbers continue unless job_name is set).
  bool resume = false;
  // xgb only: train with the database's records of other shapes of the same op (same target
  // and device key) from the first round.
  bool transfer = true;
  std::string objective = "rank:pairwise";  // xgb's model: or "reg:squarederror"
  std::string load_model;                   // xgb: guide the first rounds with this saved model
  std::string save_model;                   // xgb: write the last fitted model here after the job
  // Build round r+1 while round r is measured (the search then proposes from results up to
  // round r-1). Off: build, measure, propose strictly in turn.
  bool overlap_builds = true;
  int batch_size = 8;  // configs built, then measured, per round
  int priority = 0;    // among jobs sharing the key's boards; higher goes first
  int builder_threads = 2;
  // The name the job's records carry. Empty: `workload@YYYYMMDDTHHMMSS-xxxxxxxx` with a
  // random suffix, unique per run. A name that already has records is refused unless
  // `resume` is set (two runs would interleave their trial numbers).
  std::string job_name;
  v1::MeasureOptions measure;  // number/repeat/min_repeat_ms/timeout/tolerance
  // The confirmation round at the end of the job (tuner/confirm.h); top 0: none.
  ConfirmOptions confirm;
};

// Progress after each measured config, for the CLI's status line.
struct TuneProgress {
  int done = 0;
  int total = 0;
  int failures = 0;
  double best_gflops = 0;
  std::string best_config;  // ConfigToString of the best so far
};

struct TuneSummary {
  std::string job;
  int trials = 0;
  int failures = 0;
  std::optional<db::Record> best;  // fastest OK record of this job
  double default_gflops = 0;       // the template default, always measured first (0: failed)
  double build_seconds = 0;        // summed over builder threads
  double measure_seconds = 0;      // wall time waiting for boards
  double model_seconds = 0;        // fitting the cost model (and loading transfer rows)
  double search_seconds = 0;       // planning with the model (annealing, features)
  int resumed_trials = 0;          // records of the job found by --resume
  int transfer_rows = 0;           // other shapes' records the model trained on
  bool stopped_early = false;      // --early-stop ended the job
  // Every config of the search space has a record (this job's, or any for this workload,
  // target and device with --resume), so the job ended before `trials`.
  bool space_exhausted = false;
  uint64_t space_size = 0;                  // configs in the search space
  int timeouts = 0;                         // trials that ended TIMEOUT (resumed ones included)
  std::optional<db::Record> first_timeout;  // the first of them: a kernel that was too slow
  bool model_saved = false;
  double wall_seconds = 0;  // the confirmation round included
  // The confirmation round: set when it ran; confirmation_failure says why it did not
  // (then every figure above is the job's unconfirmed one).
  std::optional<Confirmation> confirmation;
  std::string confirmation_failure;
  double confirm_seconds = 0;
  // The boards' noise as this job saw it (BoardNoise::Describe), and boards of the key that
  // share a machine (SharedHostWarnings).
  std::string noise;
  std::vector<std::string> shared_host_warnings;
  // New bests within their board's noise of the best: held back and re-measured beside the
  // best before being announced (held_back), and how many of them the re-measurement upheld.
  int held_back = 0;
  int held_back_upheld = 0;
};

// The default measurement settings: 3 repeats of at least 40 ms, correctness checked.
v1::MeasureOptions DefaultMeasureOptions();

// Throughput of one run of `workload` taking `seconds`.
double Gflops(const codegen::CheckedWorkload& workload, double seconds);

// Checks everything about `options` that needs neither a tracker nor a database: budgets,
// the tuner's name, the model options, and that the workload has a search space on the
// target. InvalidArgument naming the bad option. RunTuningJob checks the same first; a caller
// checks early to refuse bad input before it starts a fleet or creates a database file.
absl::Status ValidateTuneOptions(const TuneOptions& options);

// Runs a whole job against the tracker at `options.tracker_address`, writing every result
// (failures included) to `database`. Returns an error when the tracker cannot be reached or
// the database refuses a write; results already recorded stay recorded. FailedPrecondition,
// before anything is built or written, when `options.job_name` already has records and
// `options.resume` is not set.
absl::StatusOr<TuneSummary> RunTuningJob(const TuneOptions& options, db::Database& database,
                                         const std::function<void(const TuneProgress&)>& progress);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_TUNING_JOB_H_
