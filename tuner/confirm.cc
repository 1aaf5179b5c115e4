#include "tuner/confirm.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "codegen/search_space.h"
#include "tuner/builder_pool.h"
#include "util/median.h"

namespace fleettune::tuner {
namespace {

// The shortest bound a candidate of the task gets, whatever --timeout-ms says: loading,
// the check run, the warm-up and the rounds of a kernel that measured fine in the job.
constexpr int kMinCandidateTimeoutMs = 2000;
// Boards disagree when their medians of the same configs differ by more than this, or by
// more than three times the noisier board's CV, whichever is larger.
constexpr double kDisagreementFloor = 0.10;

double Cv(const std::vector<double>& costs) { return util::CoefficientOfVariation(costs); }

BoardConfirmation ReadBoardResult(const v1::MeasureResult& result,
                                  const std::vector<ConfirmCandidate>& included) {
  BoardConfirmation board;
  board.board_id = result.board_id();
  board.hostname = result.device().hostname();
  std::vector<double> cvs;
  for (size_t i = 0; i < included.size(); ++i) {
    const v1::CandidateResult& measured = result.candidates(static_cast<int>(i));
    ConfirmedCandidate confirmed;
    confirmed.candidate = included[i];
    confirmed.status = measured.status();
    confirmed.error = measured.error();
    if (measured.status() == v1::OK && measured.costs_size() > 0) {
      confirmed.costs.assign(measured.costs().begin(), measured.costs().end());
      confirmed.median_cost = util::Median(confirmed.costs);
      cvs.push_back(Cv(confirmed.costs));
    } else if (measured.status() == v1::OK) {
      confirmed.status = v1::RUNTIME_ERROR;
      confirmed.error = "the board reported OK without any timing";
    }
    board.candidates.push_back(std::move(confirmed));
  }
  board.noise_cv = util::Median(cvs);
  const ConfirmedCandidate* base = nullptr;
  for (const ConfirmedCandidate& c : board.candidates) {
    if (c.candidate.is_default && !c.costs.empty()) base = &c;
  }
  if (base != nullptr) {
    const std::vector<double> default_costs = base->costs;
    for (ConfirmedCandidate& c : board.candidates) {
      if (!c.costs.empty()) c.speedup = SpeedupOver(default_costs, c.costs);
    }
  }
  return board;
}

}  // namespace

std::vector<std::string> FindDisagreements(const std::vector<BoardConfirmation>& boards) {
  std::vector<std::string> found;
  for (size_t a = 0; a < boards.size(); ++a) {
    for (size_t b = a + 1; b < boards.size(); ++b) {
      if (boards[a].board_id == boards[b].board_id) continue;
      double log_sum = 0;
      int shared = 0;
      for (size_t i = 0; i < boards[a].candidates.size() && i < boards[b].candidates.size(); ++i) {
        const double cost_a = boards[a].candidates[i].median_cost;
        const double cost_b = boards[b].candidates[i].median_cost;
        if (cost_a <= 0 || cost_b <= 0) continue;
        log_sum += std::log(cost_b / cost_a);
        ++shared;
      }
      if (shared == 0) continue;
      const double ratio = std::exp(log_sum / shared);  // b's time over a's, geometric mean
      const double allowed =
          std::max(kDisagreementFloor, 3 * std::max(boards[a].noise_cv, boards[b].noise_cv));
      if (std::fabs(ratio - 1) <= allowed) continue;
      const bool b_slower = ratio > 1;
      found.push_back(absl::StrFormat(
          "boards %s and %s disagree: %s measures the same %d configs %.2fx slower (geometric "
          "mean; noise %.1f%% and %.1f%%)",
          boards[a].board_id, boards[b].board_id,
          b_slower ? boards[b].board_id : boards[a].board_id, shared, b_slower ? ratio : 1 / ratio,
          100 * boards[a].noise_cv, 100 * boards[b].noise_cv));
    }
  }
  return found;
}

absl::Status ValidateConfirmOptions(const ConfirmOptions& options) {
  if (options.top < 0) return absl::InvalidArgumentError("--confirm-top must be >= 0");
  if (options.rounds < 1 || options.rounds > 50) {
    return absl::InvalidArgumentError("--confirm-rounds must be between 1 and 50");
  }
  return absl::OkStatus();
}

SpeedupInterval SpeedupOver(const std::vector<double>& default_costs,
                            const std::vector<double>& costs) {
  std::vector<double> ratios;
  for (size_t r = 0; r < default_costs.size() && r < costs.size(); ++r) {
    if (default_costs[r] > 0 && costs[r] > 0) ratios.push_back(default_costs[r] / costs[r]);
  }
  SpeedupInterval interval;
  if (ratios.empty()) return interval;
  interval.median = util::Median(ratios);
  interval.low = util::Quantile(ratios, 0.1);
  interval.high = util::Quantile(ratios, 0.9);
  return interval;
}

std::string DescribeSpeedup(const SpeedupInterval& speedup) {
  return absl::StrFormat("%.2fx (10-90%%: %.2f-%.2fx)", speedup.median, speedup.low, speedup.high);
}

absl::StatusOr<std::vector<BoardConfirmation>> MeasureTogether(
    TrackerClient& client, const RoundContext& context, const codegen::CheckedTarget& target,
    const std::vector<ConfirmCandidate>& candidates, int rounds, int boards, int builder_threads) {
  std::vector<v1::Config> configs;
  for (const ConfirmCandidate& candidate : candidates) configs.push_back(candidate.config);
  std::vector<BuildOutcome> built = BuildAll(*context.workload, target, configs, builder_threads);

  v1::MeasureTask task;
  task.set_device_key(context.device_key);
  *task.mutable_workload() = context.workload->proto();
  task.set_workload_key(context.workload->key());
  task.set_target_key(context.target_key);
  *task.mutable_reference() = *context.reference;
  for (const v1::TensorSpec& tensor : context.tensors) *task.add_tensors() = tensor;
  *task.mutable_options() = context.measure;
  task.set_rounds(rounds);
  std::vector<ConfirmCandidate> included;
  std::string build_errors;
  for (size_t i = 0; i < built.size(); ++i) {
    if (!built[i].artifact.ok()) {
      absl::StrAppend(&build_errors, build_errors.empty() ? "" : "; ",
                      built[i].artifact.status().message());
      continue;
    }
    v1::Candidate* candidate = task.add_candidates();
    *candidate->mutable_config() = candidates[i].config;
    *candidate->mutable_artifact() = *std::move(built[i].artifact);
    included.push_back(candidates[i]);
  }
  if (included.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no candidate of the confirmation round built: ", build_errors));
  }
  // The task's timeout bounds all its candidates together (MeasureTask.candidates).
  const int per_candidate = std::max(context.measure.timeout_ms(), kMinCandidateTimeoutMs);
  task.mutable_options()->set_timeout_ms(per_candidate * static_cast<int>(included.size()));

  v1::MeasureBatch batch;
  batch.set_device_key(context.device_key);
  batch.set_job_name(context.job_name);
  batch.set_priority(context.priority);
  if (context.progress != nullptr) *batch.mutable_progress() = *context.progress;
  for (int b = 0; b < std::max(1, boards); ++b) {
    *batch.add_tasks() = task;
    batch.mutable_tasks()->rbegin()->set_client_tag(b);
  }
  std::vector<BoardConfirmation> answers;
  std::vector<std::string> failures;
  absl::Status measured = client.Measure(batch, [&](const v1::MeasureResult& result) {
    if (result.status() != v1::OK) {
      failures.push_back(absl::StrCat(
          v1::MeasureStatus_Name(result.status()), ": ", result.error(),
          result.status() == v1::LOAD_ERROR && result.candidates_size() == 0
              ? " (a fleettune-rpc-server older than multi-candidate tasks answers so: "
                "upgrade the board runtime)"
              : ""));
    } else if (result.candidates_size() != static_cast<int>(included.size())) {
      failures.push_back(absl::StrCat(
          "board ", result.board_id(), " answered ", result.candidates_size(), " of ",
          included.size(),
          " candidates; its fleettune-rpc-server is older than multi-candidate tasks"));
    } else {
      answers.push_back(ReadBoardResult(result, included));
    }
  });
  if (!measured.ok()) return measured;
  if (answers.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no board ran the confirmation task: ",
                     failures.empty() ? "no result" : absl::StrJoin(failures, "; ")));
  }
  return answers;
}

const ConfirmedCandidate* Confirmation::default_candidate() const {
  if (boards.empty()) return nullptr;
  for (const ConfirmedCandidate& c : boards[chosen].candidates) {
    if (c.candidate.is_default && !c.costs.empty()) return &c;
  }
  return nullptr;
}

absl::StatusOr<std::vector<ConfirmCandidate>> JobCandidates(db::Database& database,
                                                            const db::Query& key_query,
                                                            const std::string& job,
                                                            const v1::Config& default_config,
                                                            int top) {
  const uint64_t default_hash = codegen::ConfigHash(default_config);
  ConfirmCandidate base;
  base.config = default_config;
  base.is_default = true;
  bool base_from_job = false;
  absl::Status visited = database.ForEach(key_query, [&](const db::Record& record) {
    if (record.status != v1::OK || record.config_hash != default_hash || base_from_job) {
      return absl::OkStatus();
    }
    base.record_id = record.id;
    base.job_cost = record.mean_cost;
    base_from_job = record.job == job;
    return absl::OkStatus();
  });
  if (!visited.ok()) return visited;
  std::vector<ConfirmCandidate> candidates = {base};
  if (top <= 0) return candidates;
  absl::flat_hash_set<uint64_t> seen = {default_hash};
  auto add = [&](const db::Record& record) {
    if (!seen.insert(record.config_hash).second) return;
    ConfirmCandidate candidate;
    candidate.config = record.config;
    candidate.record_id = record.id;
    candidate.job_cost = record.mean_cost;
    candidates.push_back(std::move(candidate));
  };
  absl::StatusOr<std::vector<db::Record>> incumbent = database.Best(key_query, 1);
  if (!incumbent.ok()) return incumbent.status();
  if (!incumbent->empty() && incumbent->front().job != job) add(incumbent->front());
  const size_t wanted = candidates.size() + static_cast<size_t>(top);
  db::Query job_query = key_query;
  job_query.job = job;
  // A few more than asked: the default and configs already added are skipped.
  absl::StatusOr<std::vector<db::Record>> best = database.Best(job_query, top + 8);
  if (!best.ok()) return best.status();
  for (const db::Record& record : *best) {
    if (candidates.size() >= wanted) break;
    add(record);
  }
  return candidates;
}

absl::StatusOr<Confirmation> ConfirmJob(TrackerClient& client, const RoundContext& context,
                                        const codegen::CheckedTarget& target,
                                        db::Database& database,
                                        const std::vector<ConfirmCandidate>& candidates,
                                        const ConfirmOptions& options, int boards,
                                        int builder_threads) {
  absl::StatusOr<std::vector<BoardConfirmation>> answers =
      MeasureTogether(client, context, target, candidates, options.rounds, boards, builder_threads);
  if (!answers.ok()) return answers.status();
  Confirmation confirmation;
  confirmation.boards = *std::move(answers);
  for (size_t b = 1; b < confirmation.boards.size(); ++b) {
    if (confirmation.boards[b].noise_cv < confirmation.boards[confirmation.chosen].noise_cv) {
      confirmation.chosen = b;
    }
  }
  const BoardConfirmation& chosen = confirmation.boards[confirmation.chosen];
  std::vector<double> default_costs;
  if (const ConfirmedCandidate* base = confirmation.default_candidate()) {
    default_costs = base->costs;
  }
  for (const ConfirmedCandidate& c : chosen.candidates) {
    if (c.costs.empty()) continue;
    confirmation.ranked.push_back(c);
    if (c.candidate.record_id == 0) continue;
    if (absl::Status recorded = database.Confirm(c.candidate.record_id, c.costs, default_costs);
        !recorded.ok()) {
      return recorded;
    }
  }
  std::stable_sort(confirmation.ranked.begin(), confirmation.ranked.end(),
                   [](const ConfirmedCandidate& a, const ConfirmedCandidate& b) {
                     return a.median_cost < b.median_cost;
                   });
  confirmation.disagreements = FindDisagreements(confirmation.boards);
  return confirmation;
}

absl::StatusOr<Confirmation> ConfirmKey(TrackerClient& client, const RoundContext& context,
                                        const codegen::CheckedTarget& target,
                                        db::Database& database, const db::Query& key_query,
                                        const std::string& job, const v1::Config& default_config,
                                        const ConfirmOptions& options, int boards,
                                        int builder_threads) {
  absl::StatusOr<std::vector<ConfirmCandidate>> candidates =
      JobCandidates(database, key_query, job, default_config, options.top);
  if (!candidates.ok()) return candidates.status();
  return ConfirmJob(client, context, target, database, *candidates, options, boards,
                    builder_threads);
}

std::vector<absl::StatusOr<Confirmation>> ConfirmEach(TrackerClient& client, db::Database& database,
                                                      const std::vector<ConfirmRequest>& requests,
                                                      const std::string& job,
                                                      const ConfirmOptions& options,
                                                      int concurrency) {
  std::vector<std::future<absl::StatusOr<Confirmation>>> pending(requests.size());
  auto launch = [&](size_t i) {
    pending[i] = std::async(std::launch::async, [&, i]() {
      const ConfirmRequest& request = requests[i];
      return ConfirmKey(client, *request.context, *request.target, database, request.key_query, job,
                        request.default_config, options, /*boards=*/1,
                        /*builder_threads=*/1);
    });
  };
  const size_t window = static_cast<size_t>(std::max(1, concurrency));
  size_t launched = 0;
  for (; launched < std::min(window, requests.size()); ++launched) launch(launched);
  std::vector<absl::StatusOr<Confirmation>> results;
  for (size_t i = 0; i < requests.size(); ++i) {
    results.push_back(pending[i].get());
    if (launched < requests.size()) launch(launched++);
  }
  return results;
}

int ConfirmationBoards(const v1::StatusReply& status, const std::string& key) {
  std::set<std::string> hosts;
  for (const v1::BoardStatus& board : status.boards()) {
    if (board.info().key() != key || board.state() == "quarantined") continue;
    hosts.insert(board.info().hostname());
  }
  return std::max<int>(1, static_cast<int>(hosts.size()));
}

std::vector<std::string> SharedHostWarnings(const v1::StatusReply& status, const std::string& key) {
  std::map<std::string, std::vector<std::string>> by_host;
  for (const v1::BoardStatus& board : status.boards()) {
    if (board.info().key() == key) by_host[board.info().hostname()].push_back(board.board_id());
  }
  std::vector<std::string> warnings;
  for (const auto& [host, ids] : by_host) {
    if (ids.size() < 2) continue;
    warnings.push_back(absl::StrCat(
        "boards ", absl::StrJoin(ids, ", "), " of key ", key, " run on one machine (", host,
        "): they measure while the others run kernels, so their results are slower and noisier "
        "than one board alone"));
  }
  return warnings;
}

}  // namespace fleettune::tuner
