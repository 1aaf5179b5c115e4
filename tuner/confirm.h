// The confirmation round (docs/confirmation.md). A job's best result is the fastest of many
// noisy measurements, so it is usually a lucky one (the winner's curse), and every user of the
// database inherits the luck. At the end of a job the tuner re-measures its top configs
// together with the template default, interleaved in rounds inside one multi-candidate task
// per board (MeasureTask.candidates), so that they share the board's state; it records those
// costs on the records (db::Database::Confirm) and reports the speedup over the default as
// the median and the 10-90% range of per-round ratios.
#ifndef FLEETTUNE_TUNER_CONFIRM_H_
#define FLEETTUNE_TUNER_CONFIRM_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "db/database.h"
#include "fleettune/v1/fleettune.pb.h"
#include "tuner/measure_round.h"
#include "tuner/tracker_client.h"

namespace fleettune::tuner {

struct ConfirmOptions {
  int top = 5;  // the job's fastest configs re-measured beside the default; 0: no round
  // Interleaved rounds; each times every candidate once. 15: with 5, one round in which the
  // default was lucky decided the 10% quantile (docs/confirmation.md has the figures).
  int rounds = 15;
};

// Checks the ranges (top >= 0, 1 <= rounds <= 50): InvalidArgument naming the flag.
absl::Status ValidateConfirmOptions(const ConfirmOptions& options);

// A speedup's summary over rounds: the median and the 10% and 90% quantiles (util::Quantile)
// of the per-round ratios default / candidate.
struct SpeedupInterval {
  double median = 0;
  double low = 0;
  double high = 0;
  // A gain the rounds agree on: even the 10% quantile is above 1.
  bool Reliable() const { return low > 1.0; }
};
// default_costs[r] / costs[r] for each round r both have (an empty interval when none).
SpeedupInterval SpeedupOver(const std::vector<double>& default_costs,
                            const std::vector<double>& costs);
// "1.06x (10-90%: 1.01-1.12x)".
std::string DescribeSpeedup(const SpeedupInterval& speedup);

// One config to re-measure.
struct ConfirmCandidate {
  v1::Config config;
  int64_t record_id = 0;  // its OK record in the database; 0: none (a default without one)
  bool is_default = false;
  double job_cost = 0;  // what the job measured (its mean cost), 0: nothing
};

// One candidate as one board measured it.
struct ConfirmedCandidate {
  ConfirmCandidate candidate;
  v1::MeasureStatus status = v1::MEASURE_STATUS_UNSPECIFIED;
  std::string error;
  std::vector<double> costs;  // seconds per run, one per round; empty unless OK
  double median_cost = 0;
  SpeedupInterval speedup;  // over the default of the same rounds; empty without it
};

// One board's answer to the multi-candidate task.
struct BoardConfirmation {
  std::string board_id;
  std::string hostname;
  std::vector<ConfirmedCandidate> candidates;  // in task order (the default first)
  double noise_cv = 0;  // median over the timed candidates of the CV of their rounds
};

// Sends `candidates` (built here, on `builder_threads` threads) as one multi-candidate task
// of `rounds` rounds to each of `boards` boards of the context's key (at least one), and
// returns each answer that ran. Configs that fail to build are dropped from the task. Errors:
// the tracker's (Unavailable), or FailedPrecondition saying why no board answered (a runtime
// too old for multi-candidate tasks, a failure status with its error).
absl::StatusOr<std::vector<BoardConfirmation>> MeasureTogether(
    TrackerClient& client, const RoundContext& context, const codegen::CheckedTarget& target,
    const std::vector<ConfirmCandidate>& candidates, int rounds, int boards, int builder_threads);

// The outcome of a job's confirmation round.
struct Confirmation {
  std::vector<BoardConfirmation> boards;  // every board that answered
  size_t chosen = 0;                      // boards[chosen] (the quietest) is recorded and ranked
  // boards[chosen]'s timed candidates, lowest median cost first.
  std::vector<ConfirmedCandidate> ranked;
  // Pairs of boards whose medians of the same configs differ by more than their noise allows
  // (at least 10%), said in words: their exploration results must not be read as one ranking.
  std::vector<std::string> disagreements;

  const ConfirmedCandidate* best() const { return ranked.empty() ? nullptr : &ranked.front(); }
  // The default as boards[chosen] timed it, or null.
  const ConfirmedCandidate* default_candidate() const;
};

// Pairs of distinct boards whose medians of the configs both timed differ by more than
// max(10%, 3 x the noisier board's CV), as geometric means over those configs, said in words.
std::vector<std::string> FindDisagreements(const std::vector<BoardConfirmation>& boards);

// The candidates of a job on one key (`key_query`: workload, target and device key): the
// template default first (with an OK record of it, this job's if it has one), then the key's
// current best (Database::Best: what `compile` would build; it must face this job's finds in
// the same rounds), then the `top` fastest OK records of `job`, one per config.
absl::StatusOr<std::vector<ConfirmCandidate>> JobCandidates(db::Database& database,
                                                            const db::Query& key_query,
                                                            const std::string& job,
                                                            const v1::Config& default_config,
                                                            int top);

// The round: MeasureTogether on up to `boards` boards (one per host: boards on one machine
// would disturb each other), the quietest board's costs recorded on the candidates' records
// (Database::Confirm, with the default's costs of the same rounds), the ranking and the
// disagreements. Errors: MeasureTogether's, and the database's.
absl::StatusOr<Confirmation> ConfirmJob(TrackerClient& client, const RoundContext& context,
                                        const codegen::CheckedTarget& target,
                                        db::Database& database,
                                        const std::vector<ConfirmCandidate>& candidates,
                                        const ConfirmOptions& options, int boards,
                                        int builder_threads);

// One key's round from start to end: JobCandidates over `key_query` and `job`, then
// ConfirmJob. Errors: theirs.
absl::StatusOr<Confirmation> ConfirmKey(TrackerClient& client, const RoundContext& context,
                                        const codegen::CheckedTarget& target,
                                        db::Database& database, const db::Query& key_query,
                                        const std::string& job, const v1::Config& default_config,
                                        const ConfirmOptions& options, int boards,
                                        int builder_threads);

// One key of several to confirm (a model job's tasks).
struct ConfirmRequest {
  const RoundContext* context = nullptr;
  const codegen::CheckedTarget* target = nullptr;
  db::Query key_query;
  v1::Config default_config;
};

// ConfirmKey for every request, on one board each (one builder thread each), `concurrency`
// of them at a time so that that many boards are busy; the results in request order.
std::vector<absl::StatusOr<Confirmation>> ConfirmEach(TrackerClient& client, db::Database& database,
                                                      const std::vector<ConfirmRequest>& requests,
                                                      const std::string& job,
                                                      const ConfirmOptions& options,
                                                      int concurrency);

// The boards of `key` the confirmation goes to: at most one per hostname (boards sharing a
// machine measure each other's load), not quarantined. From the tracker's status.
int ConfirmationBoards(const v1::StatusReply& status, const std::string& key);

// The boards of `key` that share a machine with another board of the key, said in words
// ("boards b-1 and b-2 run on host h: they slow each other's kernels"); empty when none.
std::vector<std::string> SharedHostWarnings(const v1::StatusReply& status, const std::string& key);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_CONFIRM_H_
