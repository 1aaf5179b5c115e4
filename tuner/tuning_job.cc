#include "tuner/tuning_job.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <numeric>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/version.h"
#include "codegen/workload.h"
#include "spdlog/spdlog.h"
#include "tuner/adaptive_timeout.h"
#include "tuner/board_noise.h"
#include "tuner/builder_pool.h"
#include "tuner/job_name.h"
#include "tuner/measure_round.h"
#include "tuner/planning_budget.h"
#include "tuner/resume.h"
#include "tuner/search.h"
#include "tuner/tracker_client.h"
#include "tuner/xgb_search.h"
#include "util/seconds_since.h"

namespace fleettune::tuner {
namespace {

using Clock = std::chrono::steady_clock;

using util::SecondsSince;

// Everything one job keeps while it runs.
class Job {
 public:
  // `job_name` names the job's records (ChooseJobName); Resume may continue another one.
  Job(const TuneOptions& options, std::string job_name, db::Database& database,
      const codegen::SearchSpace& space, Search& search,
      std::function<void(const TuneProgress&)> progress)
      : options_(options),
        database_(database),
        space_(space),
        search_(search),
        progress_(std::move(progress)),
        workload_key_(options.workload.key()) {
    summary_.job = std::move(job_name);
    summary_.space_size = space.size();
    context_.workload = &options_.workload;
    context_.target_key = options.target.key();
    context_.device_key = options.device_key;
    context_.priority = options.priority;
    context_.reference = &reference_;
    context_.tensors = options.workload.Tensors();
    context_.measure = options.measure;
    context_.job_total_trials = options.trials;
  }

  absl::Status Run() {
    auto start = Clock::now();
    context_.job_name = summary_.job;
    spdlog::info("job {} started: {} on {} (key {}, {} trials, {} search{})", summary_.job,
                 workload_key_, codegen::TargetSummary(options_.target.proto()),
                 options_.device_key, options_.trials, options_.tuner,
                 summary_.resumed_trials > 0
                     ? absl::StrCat(", ", summary_.resumed_trials, " already recorded")
                     : "");
    absl::StatusOr<codegen::BuiltKernel> reference =
        codegen::BuildReference(options_.workload, options_.target);
    if (!reference.ok()) {
      return absl::InternalError(
          absl::StrCat("building the reference kernel failed: ", reference.status().message()));
    }
    reference_ = MakeArtifact(std::move(reference->shared_object), reference->symbol);
    absl::StatusOr<std::unique_ptr<TrackerClient>> client = TrackerClient::Connect(
        options_.tracker_address, options_.tracker_token, options_.tracker_tls_ca);
    if (!client.ok()) return client.status();

    // The template default is always measured first: it is what users get without a record,
    // so the job's best is never worse than it and the summary can say by how much it wins.
    std::vector<uint64_t> first;
    if (absl::StatusOr<uint64_t> default_index = space_.IndexOf(space_.DefaultConfig());
        default_index.ok() && !measured_.contains(*default_index)) {
      search_.MarkVisited(*default_index);
      first.push_back(*default_index);
    }
    // Builds of round r+1 run while round r is measured, so the search proposes round r+1
    // from the results up to round r-1 (one round of lag, as in AutoTVM).
    int in_flight = 0;  // trials proposed but not yet recorded
    auto propose = [&](std::vector<uint64_t> indices) {
      const int want = std::min(options_.batch_size, options_.trials - summary_.trials - in_flight);
      if (want <= 0) return PendingRound{};
      if (static_cast<int>(indices.size()) > want) indices.resize(want);
      // Planning is dead time for the boards: bound it by what a round of them costs.
      search_.set_planning_budget(planning_budget_.Seconds());
      std::vector<uint64_t> proposed = search_.Propose(want - static_cast<int>(indices.size()));
      indices.insert(indices.end(), proposed.begin(), proposed.end());
      PendingRound round;
      round.indices = std::move(indices);
      for (uint64_t index : round.indices) round.configs.push_back(space_.ConfigAt(index));
      in_flight += static_cast<int>(round.indices.size());
      round.outcomes = std::async(std::launch::async, BuildAll, options_.workload, options_.target,
                                  round.configs, options_.builder_threads);
      return round;
    };
    PendingRound current = propose(std::move(first));
    while (!current.indices.empty()) {
      std::vector<BuildOutcome> outcomes = current.outcomes.get();
      PendingRound next;
      if (options_.overlap_builds && !StopEarly()) next = propose({});
      in_flight -= static_cast<int>(current.indices.size());
      const double build_before = summary_.build_seconds;
      const double measure_before = summary_.measure_seconds;
      absl::Status status = RunRound(**client, current.indices, current.configs, outcomes);
      if (status.ok() && challenger_) status = Challenge(**client);
      planning_budget_.AddRound((summary_.build_seconds - build_before) /
                                    std::max(1, options_.builder_threads) +
                                summary_.measure_seconds - measure_before);
      if (!status.ok()) {
        if (next.outcomes.valid()) next.outcomes.wait();
        return status;
      }
      if (StopEarly()) {
        summary_.stopped_early = true;
        if (next.outcomes.valid()) next.outcomes.wait();
        break;
      }
      if (!options_.overlap_builds) next = propose({});
      current = std::move(next);
    }
    // The search proposes fewer configs than asked only when none is left (Search::Propose).
    summary_.space_exhausted = !summary_.stopped_early && summary_.trials < options_.trials;
    ConfirmBest(**client);
    summary_.model_seconds = search_.model_seconds();
    summary_.search_seconds = search_.planning_seconds();
    summary_.wall_seconds = SecondsSince(start);
    return absl::OkStatus();
  }

  // --resume: takes over the database's records of this workload, target and device
  // (ResumeFromDatabase), before Run.
  absl::Status Resume() {
    return ResumeFromDatabase(options_, database_, space_, search_, measured_, summary_);
  }

  TuneSummary TakeSummary() { return std::move(summary_); }

 private:
  struct PendingRound {
    std::vector<uint64_t> indices;
    std::vector<v1::Config> configs;
    std::future<std::vector<BuildOutcome>> outcomes;
  };

  // --early-stop: that many trials recorded since the best one (or without any OK one).
  bool StopEarly() const {
    if (options_.early_stop <= 0) return false;
    const int64_t since = summary_.best ? summary_.trials - 1 - summary_.best->trial
                                        : static_cast<int64_t>(summary_.trials);
    return since >= options_.early_stop;
  }

  // The confirmation round (tuner/confirm.h) over the job's top configs and the default. A
  // round that cannot run leaves the job's results as they are, unconfirmed, and says why.
  void ConfirmBest(TrackerClient& client) {
    summary_.noise = noise_.Describe();
    int boards = 1;
    if (absl::StatusOr<v1::StatusReply> status = client.GetStatus(); status.ok()) {
      boards = ConfirmationBoards(*status, options_.device_key);
      summary_.shared_host_warnings = SharedHostWarnings(*status, options_.device_key);
    }
    if (options_.confirm.top <= 0 || !summary_.best) return;
    const auto start = Clock::now();
    db::Query query;
    query.workload_key = workload_key_;
    query.target_key = options_.target.key();
    query.device_key = options_.device_key;
    absl::StatusOr<Confirmation> confirmation =
        ConfirmKey(client, context_, options_.target, database_, query, summary_.job,
                   space_.DefaultConfig(), options_.confirm, boards, options_.builder_threads);
    summary_.confirm_seconds += SecondsSince(start);
    if (!confirmation.ok()) {
      summary_.confirmation_failure = std::string(confirmation.status().message());
      spdlog::warn("job {}: the confirmation round failed, results stay unconfirmed: {}",
                   summary_.job, summary_.confirmation_failure);
      return;
    }
    // Each candidate's rounds are one more sample of its board's noise.
    for (const BoardConfirmation& board : confirmation->boards) {
      for (const ConfirmedCandidate& c : board.candidates) noise_.Add(board.board_id, c.costs);
    }
    summary_.noise = noise_.Describe();
    summary_.confirmation = *std::move(confirmation);
  }

  // A new best within its board's noise of the best was held back (Record): re-measure the
  // two side by side and announce it only if it wins there.
  absl::Status Challenge(TrackerClient& client) {
    db::Record challenger = *std::move(challenger_);
    challenger_.reset();
    if (!summary_.best || challenger.mean_cost >= summary_.best->mean_cost) return absl::OkStatus();
    ++summary_.held_back;
    constexpr int kChallengeRounds = 3;
    ConfirmCandidate incumbent;
    incumbent.config = summary_.best->config;
    incumbent.record_id = summary_.best->id;
    ConfirmCandidate contender;
    contender.config = challenger.config;
    contender.record_id = challenger.id;
    const auto start = Clock::now();
    absl::StatusOr<std::vector<BoardConfirmation>> measured =
        MeasureTogether(client, context_, options_.target, {incumbent, contender}, kChallengeRounds,
                        /*boards=*/1, options_.builder_threads);
    summary_.confirm_seconds += SecondsSince(start);
    if (!measured.ok()) {
      spdlog::warn("job {}: re-measuring a new best within the noise failed, keeping the best: {}",
                   summary_.job, std::string(measured.status().message()));
      return absl::OkStatus();
    }
    const BoardConfirmation& board = measured->front();
    for (const ConfirmedCandidate& c : board.candidates) noise_.Add(board.board_id, c.costs);
    const bool upheld = board.candidates.size() == 2 && board.candidates[0].median_cost > 0 &&
                        board.candidates[1].median_cost > 0 &&
                        board.candidates[1].median_cost < board.candidates[0].median_cost;
    spdlog::info(
        "job {}: trial {} was within the noise of the best; re-measured side by side: "
        "{:.4f} ms against {:.4f} ms, {}",
        summary_.job, challenger.trial, board.candidates.back().median_cost * 1e3,
        board.candidates.front().median_cost * 1e3, upheld ? "a new best" : "not a new best");
    if (upheld) {
      ++summary_.held_back_upheld;
      summary_.best = std::move(challenger);
    }
    return absl::OkStatus();
  }

  absl::Status RunRound(TrackerClient& client, const std::vector<uint64_t>& indices,
                        const std::vector<v1::Config>& configs,
                        std::vector<BuildOutcome>& outcomes) {
    for (uint64_t index : indices) measured_.insert(index);
    for (const BuildOutcome& outcome : outcomes) summary_.build_seconds += outcome.seconds;
    const int64_t first_trial = summary_.trials;
    RoundContext context = context_;
    context.measure.set_timeout_ms(AdaptiveTimeoutMs(
        options_.measure,
        summary_.best ? std::optional<double>(summary_.best->mean_cost) : std::nullopt));
    absl::Status status = MeasureRound(
        client, context, outcomes,
        [&](size_t i, const v1::MeasureResult& result) {
          return Record(MakeRecord(context, first_trial + i, configs[i], result), indices[i]);
        },
        &summary_.measure_seconds);
    if (absl::IsUnavailable(status)) {
      return absl::UnavailableError(
          absl::StrCat(status.message(), " (", summary_.trials, " trials recorded before)"));
    }
    return status;
  }

  absl::Status Record(db::Record record, uint64_t index) {
    absl::Status inserted = database_.Insert(&record);
    if (!inserted.ok()) return inserted;

    ++summary_.trials;
    if (record.status != v1::OK) ++summary_.failures;
    CountTimeout(record, summary_);
    search_.Observe(index, record.gflops);
    if (record.status == v1::OK &&
        record.config_hash == codegen::ConfigHash(space_.DefaultConfig())) {
      summary_.default_gflops = record.gflops;
    }
    if (record.status == v1::OK) noise_.Add(record.board_id, record.costs);
    if (record.status == v1::OK && (!summary_.best || record.gflops > summary_.best->gflops)) {
      // A gain smaller than the board's noise is as likely luck: hold it back (Challenge).
      if (summary_.best && options_.confirm.top > 0 &&
          WithinNoise(record.mean_cost, summary_.best->mean_cost, noise_.Cv(record.board_id))) {
        if (!challenger_ || record.mean_cost < challenger_->mean_cost) challenger_ = record;
      } else {
        summary_.best = record;
      }
    }
    if (progress_) {
      TuneProgress progress;
      progress.done = summary_.trials;
      progress.total = options_.trials;
      progress.failures = summary_.failures;
      if (summary_.best) {
        progress.best_gflops = summary_.best->gflops;
        progress.best_config = codegen::ConfigToString(summary_.best->config);
      }
      progress_(progress);
    }
    return absl::OkStatus();
  }

  const TuneOptions& options_;
  db::Database& database_;
  const codegen::SearchSpace& space_;
  Search& search_;
  std::function<void(const TuneProgress&)> progress_;
  const std::string workload_key_;
  v1::Artifact reference_;
  RoundContext context_;                    // job_name set once the job has its name (Run)
  absl::flat_hash_set<uint64_t> measured_;  // indices with a record (resumed or this run)
  PlanningBudget planning_budget_;          // from the rounds measured so far
  BoardNoise noise_;                        // of this job's results, per board
  std::optional<db::Record> challenger_;    // a new best within the noise, held back
  TuneSummary summary_;
};

}  // namespace

v1::MeasureOptions DefaultMeasureOptions() {
  v1::MeasureOptions options;
  options.set_number(1);
  options.set_repeat(3);
  options.set_min_repeat_ms(40);
  options.set_timeout_ms(10000);
  options.set_check_correctness(true);
  options.set_tolerance(1e-4);
  return options;
}

double Gflops(const codegen::CheckedWorkload& workload, double seconds) {
  if (seconds <= 0) return 0;
  return workload.Flops() / seconds / 1e9;
}

absl::Status ValidateTuneOptions(const TuneOptions& options) {
  if (options.trials <= 0) return absl::InvalidArgumentError("--trials must be positive");
  if (options.batch_size <= 0) return absl::InvalidArgumentError("batch size must be positive");
  if (options.early_stop < 0) return absl::InvalidArgumentError("--early-stop must be >= 0");
  if (options.objective != "rank:pairwise" && options.objective != "reg:squarederror") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--objective '", options.objective, "' is not one of rank:pairwise, reg:squarederror"));
  }
  if (!options.load_model.empty() && options.tuner != "xgb") {
    return absl::InvalidArgumentError("--load-model needs --tuner xgb");
  }
  if (!options.save_model.empty() && options.tuner != "xgb") {
    return absl::InvalidArgumentError("--save-model needs --tuner xgb");
  }
  if (absl::Status known = CheckSearchName(options.tuner); !known.ok()) return known;
  if (absl::Status confirm = ValidateConfirmOptions(options.confirm); !confirm.ok()) return confirm;
  return codegen::SearchSpaceFor(options.workload, options.target).status();
}

absl::StatusOr<TuneSummary> RunTuningJob(const TuneOptions& options, db::Database& database,
                                         const std::function<void(const TuneProgress&)>& progress) {
  if (absl::Status valid = ValidateTuneOptions(options); !valid.ok()) return valid;
  absl::StatusOr<codegen::SearchSpace> space =
      codegen::SearchSpaceFor(options.workload, options.target);
  if (!space.ok()) return space.status();
  absl::StatusOr<JobSearch> search = MakeJobSearch(options, *space, database);
  if (!search.ok()) return search.status();
  absl::StatusOr<std::string> job_name = ChooseJobName(options, database);
  if (!job_name.ok()) return job_name.status();
  Job job(options, *std::move(job_name), database, *space, *search->search, progress);
  if (options.resume) {
    if (absl::Status status = job.Resume(); !status.ok()) return status;
  }
  absl::Status status = job.Run();
  if (!status.ok()) return status;
  TuneSummary summary = job.TakeSummary();
  spdlog::info("job {} finished: {} trials, {} failed, {} in {:.1f} s", summary.job, summary.trials,
               summary.failures,
               summary.best ? absl::StrFormat("best %.2f GFLOPS (%s)", summary.best->gflops,
                                              codegen::ConfigToString(summary.best->config))
                            : "no config measured successfully",
               summary.wall_seconds);
  summary.transfer_rows = search->transfer_rows;
  summary.model_seconds += search->model_seconds;
  if (search->xgb != nullptr && !options.save_model.empty()) {
    if (absl::Status saved = search->xgb->SaveModel(options.save_model); !saved.ok()) {
      return absl::InternalError(absl::StrCat("--save-model: ", saved.message()));
    }
    summary.model_saved = true;
  }
  return summary;
}

}  // namespace fleettune::tuner
