#include "tuner/model_job.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "spdlog/spdlog.h"
#include "tuner/adaptive_timeout.h"
#include "tuner/board_noise.h"
#include "tuner/builder_pool.h"
#include "tuner/job_name.h"
#include "tuner/measure_round.h"
#include "tuner/model_history.h"
#include "tuner/planning_budget.h"
#include "tuner/resume.h"
#include "tuner/search.h"
#include "tuner/tracker_client.h"
#include "tuner/transfer.h"
#include "tuner/xgb_search.h"
#include "util/seconds_since.h"

namespace fleettune::tuner {
namespace {

using Clock = std::chrono::steady_clock;
using util::SecondsSince;

// The options of one task: the common ones with the task's workload.
TuneOptions TaskOptions(const ModelTuneOptions& options, const ModelTask& task) {
  TuneOptions result = options.common;
  result.workload = task.workload;
  return result;
}

// The scheduler's kin class of a task: its template and the window parameters of a
// convolution (kernel size, stride, dilation). The FLOP/s one kin reaches is a promise for the
// others; a stride-2 depthwise layer reads its input unlike a stride-1 one and never came
// near it (MobileNet-V2: 6-9 GFLOPS against 17-32), so pooling them sent hundreds of
// MobileNet-V2 trials to the stride-2 layers until their spaces were exhausted.
std::string KinClass(const codegen::CheckedWorkload& workload, const codegen::SearchSpace& space) {
  std::string kin = space.template_name();
  for (const v1::Workload::Param& param : workload.proto().params()) {
    if (param.name() == "r" || param.name() == "s" || param.name() == "stride" ||
        param.name() == "dilation") {
      absl::StrAppend(&kin, ",", param.name(), "=", param.value());
    }
  }
  return kin;
}

// What one round brought back from the builders and the boards (on a worker thread).
struct RoundOutcome {
  std::vector<std::optional<v1::MeasureResult>> results;  // per config; empty: none
  absl::Status status;
  double build_seconds = 0;
  double measure_seconds = 0;
};

// Everything the job keeps about one task.
struct TaskRun {
  TaskRun(TuneOptions task_options, codegen::SearchSpace task_space)
      : options(std::move(task_options)), space(std::move(task_space)) {}

  TuneOptions options;
  codegen::SearchSpace space;
  JobSearch search;
  v1::Artifact reference;
  RoundContext context;
  absl::flat_hash_set<uint64_t> measured;  // indices with a record, or in flight
  TransferData transfer;                   // other shapes' records from before the job
  size_t kin_results_used = 0;             // kin results in the search's transfer data
  bool default_offered = false;
  PlanningBudget planning;  // from this task's rounds (their costs differ between tasks)
  KinResults results;       // this job's results with their features, for its kin to learn from
};

class ModelJob {
 public:
  ModelJob(const ModelTuneOptions& options, db::Database& database,
           std::function<void(const ModelTuneSummary&)> progress)
      : options_(options), database_(database), progress_(std::move(progress)) {}

  absl::Status Prepare() {
    summary_.model = options_.model;
    summary_.total_trials = options_.common.trials;
    std::vector<ScheduledTask> scheduled;
    for (const ModelTask& task : options_.tasks) {
      TuneOptions task_options = TaskOptions(options_, task);
      // Transfer is loaded here, once, so kin results can be added to it as they arrive.
      task_options.transfer = false;
      // One seed per task: kin tasks with equal spaces would otherwise explore in lockstep.
      task_options.seed = options_.common.seed + runs_.size();
      absl::StatusOr<codegen::SearchSpace> space =
          codegen::SearchSpaceFor(task.workload, options_.common.target);
      if (!space.ok()) return space.status();
      auto run = std::make_unique<TaskRun>(std::move(task_options), *std::move(space));
      absl::StatusOr<JobSearch> search = MakeJobSearch(run->options, run->space, database_);
      if (!search.ok()) return search.status();
      run->search = *std::move(search);
      summary_.model_seconds += run->search.model_seconds;
      if (options_.common.transfer && run->search.xgb != nullptr) {
        const auto start = Clock::now();
        absl::StatusOr<TransferData> data =
            LoadTransferData(database_, task.workload, options_.common.target,
                             options_.common.device_key, run->space.template_name());
        if (!data.ok()) return data.status();
        run->transfer = *std::move(data);
        run->search.xgb->SetTransferData(run->transfer);
        summary_.model_seconds += SecondsSince(start);
      }
      ModelTaskState state;
      state.workload = task.workload.key();
      state.template_name = run->space.template_name();
      state.count = task.count;
      state.flops = task.workload.Flops();
      summary_.tasks.push_back(std::move(state));
      scheduled.push_back(ScheduledTask{task.workload.key(), KinClass(task.workload, run->space),
                                        task.count, task.workload.Flops()});
      runs_.push_back(std::move(run));
    }
    TaskSchedulerOptions scheduler_options = options_.scheduler;
    scheduler_options.early_stop = options_.common.early_stop;
    scheduler_options.seed = options_.common.seed;
    scheduler_ = std::make_unique<TaskScheduler>(std::move(scheduled), scheduler_options);

    std::vector<std::string> workloads;
    for (const ModelTaskState& state : summary_.tasks) workloads.push_back(state.workload);
    std::string job_name = options_.common.job_name;
    if (options_.common.resume && job_name.empty()) {
      absl::StatusOr<std::string> latest =
          LatestModelJob(database_, options_.model, workloads, options_.common.target.key(),
                         options_.common.device_key);
      if (latest.ok()) job_name = *latest;
      if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest.status();
    }
    absl::StatusOr<std::string> chosen = ChooseJobNameFor(
        options_.model, job_name, options_.common.resume && !job_name.empty(), database_);
    if (!chosen.ok()) return chosen.status();
    summary_.job = *chosen;
    return TakeOverRecords();
  }

  absl::Status Run() {
    const auto start = Clock::now();
    spdlog::info("model job {} started: {} tasks of {} on {} (key {}, {} trials, {} scheduler{})",
                 summary_.job, runs_.size(), options_.model,
                 codegen::TargetSummary(options_.common.target.proto()), options_.common.device_key,
                 options_.common.trials, SchedulerPolicyName(options_.scheduler.policy),
                 summary_.resumed_trials > 0
                     ? absl::StrCat(", ", summary_.resumed_trials, " already recorded")
                     : "");
    for (size_t i = 0; i < runs_.size(); ++i) {
      TaskRun& run = *runs_[i];
      absl::StatusOr<codegen::BuiltKernel> reference =
          codegen::BuildReference(run.options.workload, run.options.target);
      if (!reference.ok()) {
        return absl::InternalError(absl::StrCat("building the reference kernel of ",
                                                summary_.tasks[i].workload,
                                                " failed: ", reference.status().message()));
      }
      run.reference = MakeArtifact(std::move(reference->shared_object), reference->symbol);
      run.context.workload = &run.options.workload;
      run.context.target_key = run.options.target.key();
      run.context.device_key = run.options.device_key;
      run.context.job_name = summary_.job;
      run.context.priority = run.options.priority;
      run.context.reference = &run.reference;
      run.context.tensors = run.options.workload.Tensors();
      run.context.measure = run.options.measure;
    }
    absl::StatusOr<std::unique_ptr<TrackerClient>> client =
        TrackerClient::Connect(options_.common.tracker_address, options_.common.tracker_token,
                               options_.common.tracker_tls_ca);
    if (!client.ok()) return client.status();
    UpdateEstimate();
    if (progress_) progress_(summary_);

    std::vector<Flight> flights;
    int in_flight_trials = 0;
    absl::Status failure;
    while (true) {
      // Launch rounds while there is room on the fleet and budget left.
      while (failure.ok() && static_cast<int>(flights.size()) < options_.rounds_in_flight) {
        const int room = options_.common.trials - summary_.trials - in_flight_trials;
        if (room <= 0) break;
        std::optional<Flight> flight = Launch(**client, room);
        if (!flight) break;  // every task stopped
        in_flight_trials += static_cast<int>(flight->indices.size());
        flights.push_back(*std::move(flight));
      }
      if (flights.empty()) break;
      // Record the first round that finished.
      size_t done = flights.size();
      while (done == flights.size()) {
        for (size_t f = 0; f < flights.size(); ++f) {
          if (flights[f].outcome.wait_for(std::chrono::milliseconds(20)) ==
              std::future_status::ready) {
            done = f;
            break;
          }
        }
      }
      Flight flight = std::move(flights[done]);
      flights.erase(flights.begin() + static_cast<std::ptrdiff_t>(done));
      in_flight_trials -= static_cast<int>(flight.indices.size());
      RoundOutcome outcome = flight.outcome.get();
      absl::Status recorded = RecordRound(flight, outcome);
      if (failure.ok() && !recorded.ok()) failure = recorded;
      if (failure.ok() && !outcome.status.ok()) failure = outcome.status;
      // After a failure the rounds still out run to their end (their results are recorded),
      // but no new round starts.
    }
    summary_.all_stopped = failure.ok() && summary_.trials < options_.common.trials;
    summary_.noise = noise_.Describe();
    if (failure.ok()) ConfirmTasks(**client);
    for (const auto& run : runs_) {
      summary_.model_seconds += run->search.search->model_seconds();
      summary_.search_seconds += run->search.search->planning_seconds();
    }
    summary_.wall_seconds = SecondsSince(start);
    if (!failure.ok()) {
      if (absl::IsUnavailable(failure)) {
        return absl::UnavailableError(
            absl::StrCat(failure.message(), " (", summary_.trials, " trials recorded before)"));
      }
      return failure;
    }
    return absl::OkStatus();
  }

  ModelTuneSummary TakeSummary() { return std::move(summary_); }

 private:
  // Each task's confirmation round (tuner/confirm.h) over the key's records of its workload,
  // as many at once as the job had rounds in flight. A task whose round fails keeps its
  // unconfirmed figures and says why.
  void ConfirmTasks(TrackerClient& client) {
    if (options_.common.confirm.top <= 0) return;
    const auto start = Clock::now();
    // The rounds' batches tell the tracker where the job stands after its last round.
    const v1::JobProgress final_progress = ProgressProto();
    std::vector<RoundContext> contexts;
    contexts.reserve(runs_.size());  // the requests point into it
    std::vector<ConfirmRequest> requests;
    for (size_t i = 0; i < runs_.size(); ++i) {
      const TaskRun& run = *runs_[i];
      ConfirmRequest& request = requests.emplace_back();
      contexts.push_back(run.context);
      contexts.back().progress = &final_progress;
      request.context = &contexts.back();
      request.target = &run.options.target;
      request.key_query.workload_key = summary_.tasks[i].workload;
      request.key_query.target_key = run.options.target.key();
      request.key_query.device_key = run.options.device_key;
      request.default_config = run.space.DefaultConfig();
    }
    std::vector<absl::StatusOr<Confirmation>> confirmations =
        ConfirmEach(client, database_, requests, summary_.job, options_.common.confirm,
                    options_.rounds_in_flight);
    double estimate = 0;
    bool all_confirmed = true;
    for (size_t i = 0; i < runs_.size(); ++i) {
      const absl::StatusOr<Confirmation>& confirmation = confirmations[i];
      ModelTaskState& state = summary_.tasks[i];
      if (!confirmation.ok()) {
        state.confirmation_failure = std::string(confirmation.status().message());
        spdlog::warn("model job {}: the confirmation round of {} failed: {}", summary_.job,
                     state.workload, state.confirmation_failure);
        all_confirmed = false;
        continue;
      }
      const BoardConfirmation& board = confirmation->boards[confirmation->chosen];
      for (const ConfirmedCandidate& c : board.candidates) noise_.Add(board.board_id, c.costs);
      if (confirmation->best() == nullptr) {
        state.confirmation_failure = "no candidate timed OK in the confirmation round";
        all_confirmed = false;
        continue;
      }
      state.confirmed = *confirmation->best();
      estimate += static_cast<double>(state.count) * state.confirmed->median_cost;
    }
    if (all_confirmed) summary_.confirmed_estimated_seconds = estimate;
    summary_.noise = noise_.Describe();
    summary_.confirm_seconds = SecondsSince(start);
  }

  struct Flight {
    size_t task = 0;
    std::vector<uint64_t> indices;
    std::vector<v1::Config> configs;
    std::unique_ptr<v1::JobProgress> progress;  // what the round's batch tells the tracker
    std::unique_ptr<RoundContext> context;      // the round's own (timeout, progress)
    std::future<RoundOutcome> outcome;
  };

  // Every record of the tasks' workloads on the target and device key: their configs are
  // never measured again, the searches and the scheduler start from them, and the job's own
  // records (a resumed job) count towards its trials.
  absl::Status TakeOverRecords() {
    std::vector<JobTrial> job_trials;
    for (size_t i = 0; i < runs_.size(); ++i) {
      TaskRun& run = *runs_[i];
      db::Query query;
      query.workload_key = summary_.tasks[i].workload;
      query.target_key = run.options.target.key();
      query.device_key = run.options.device_key;
      absl::StatusOr<TaskTakeover> takeover =
          TakeOverTaskRecords(query, summary_.job, i, database_, run.space, *run.search.search,
                              run.measured, summary_.tasks[i]);
      if (!takeover.ok()) return takeover.status();
      if (takeover->prior_best_seconds) scheduler_->Record(i, 0, takeover->prior_best_seconds);
      job_trials.insert(job_trials.end(), takeover->job_trials.begin(), takeover->job_trials.end());
    }
    // Trial numbers continue after the highest; the budget counts the records.
    for (const JobTrial& trial : job_trials) {
      next_trial_ = std::max(next_trial_, trial.trial + 1);
      if (!trial.ok) ++summary_.failures;
    }
    summary_.resumed_trials = static_cast<int>(job_trials.size());
    summary_.trials = summary_.resumed_trials;
    for (const ReplayedRound& round :
         ReplayedRounds(std::move(job_trials), options_.common.batch_size)) {
      scheduler_->Replay(round.task, round.trials, round.best_seconds);
    }
    return absl::OkStatus();
  }

  // Adds the kin tasks' results of this job to `task`'s transfer data when they have grown
  // enough since it last trained with them.
  void ShareKinResults(size_t task) {
    TaskRun& run = *runs_[task];
    if (run.search.xgb == nullptr) return;
    std::vector<const KinResults*> kin;
    size_t available = 0;
    for (size_t k = 0; k < runs_.size(); ++k) {
      if (k == task || runs_[k]->space.template_name() != run.space.template_name()) continue;
      kin.push_back(&runs_[k]->results);
      available += runs_[k]->results.rows.size();
    }
    if (!KinRefreshDue(available, run.kin_results_used, options_.common.batch_size)) return;
    run.search.xgb->SetTransferData(WithKinResults(run.transfer, kin));
    run.kin_results_used = available;
  }

  std::optional<Flight> Launch(TrackerClient& client, int room) {
    while (true) {
      const auto schedule_start = Clock::now();
      std::optional<size_t> next = scheduler_->Next();
      if (!next) return std::nullopt;
      const size_t task = *next;
      ShareKinResults(task);
      summary_.scheduler_seconds += SecondsSince(schedule_start);
      TaskRun& run = *runs_[task];
      const int want = std::min(options_.common.batch_size, room);
      std::vector<uint64_t> indices;
      // The template default first: it is what the network gets without a record.
      if (!run.default_offered) {
        run.default_offered = true;
        absl::StatusOr<uint64_t> index = run.space.IndexOf(run.space.DefaultConfig());
        if (index.ok() && !run.measured.contains(*index)) {
          run.search.search->MarkVisited(*index);
          indices.push_back(*index);
        }
      }
      run.search.search->set_planning_budget(run.planning.Seconds());
      std::vector<uint64_t> proposed =
          run.search.search->Propose(want - static_cast<int>(indices.size()));
      for (uint64_t index : proposed) {
        if (!run.measured.contains(index)) indices.push_back(index);
      }
      if (indices.empty()) {  // the space is exhausted
        scheduler_->Stop(task);
        summary_.tasks[task].stopped = true;
        continue;
      }
      Flight flight;
      flight.task = task;
      flight.indices = indices;
      for (uint64_t index : indices) {
        run.measured.insert(index);
        flight.configs.push_back(run.space.ConfigAt(index));
      }
      flight.progress = std::make_unique<v1::JobProgress>(ProgressProto());
      flight.context = std::make_unique<RoundContext>(run.context);
      flight.context->progress = flight.progress.get();
      const std::optional<db::Record>& best = summary_.tasks[task].best;
      flight.context->measure.set_timeout_ms(AdaptiveTimeoutMs(
          run.options.measure, best ? std::optional<double>(best->mean_cost) : std::nullopt));
      const RoundContext* context = flight.context.get();
      const TuneOptions* task_options = &run.options;
      flight.outcome = std::async(
          std::launch::async, [&client, context, task_options, configs = flight.configs]() {
            RoundOutcome outcome;
            std::vector<BuildOutcome> built = BuildAll(task_options->workload, task_options->target,
                                                       configs, task_options->builder_threads);
            for (const BuildOutcome& b : built) outcome.build_seconds += b.seconds;
            outcome.results.resize(configs.size());
            outcome.status = MeasureRound(
                client, *context, built,
                [&](size_t i, const v1::MeasureResult& result) {
                  outcome.results[i] = result;
                  return absl::OkStatus();
                },
                &outcome.measure_seconds);
            return outcome;
          });
      return flight;
    }
  }

  absl::Status RecordRound(const Flight& flight, const RoundOutcome& outcome) {
    TaskRun& run = *runs_[flight.task];
    ModelTaskState& state = summary_.tasks[flight.task];
    summary_.build_seconds += outcome.build_seconds;
    summary_.measure_seconds += outcome.measure_seconds;
    run.planning.AddRound(outcome.build_seconds / std::max(1, run.options.builder_threads) +
                          outcome.measure_seconds);
    int64_t trials = 0;
    std::optional<double> best;
    absl::Status status;
    for (size_t i = 0; i < flight.configs.size(); ++i) {
      if (!outcome.results[i]) {
        // Not measured (the round failed): it may be proposed again by a resumed job.
        run.measured.erase(flight.indices[i]);
        continue;
      }
      db::Record record =
          MakeRecord(*flight.context, next_trial_, flight.configs[i], *outcome.results[i]);
      if (absl::Status inserted = database_.Insert(&record); !inserted.ok()) {
        if (status.ok()) status = inserted;
        continue;
      }
      ++next_trial_;
      ++summary_.trials;
      ++state.trials;
      ++trials;
      const bool ok = record.status == v1::OK;
      if (!ok) {
        ++summary_.failures;
        ++state.failures;
      }
      run.search.search->Observe(flight.indices[i], record.gflops);
      if (ok) noise_.Add(record.board_id, record.costs);
      if (record.status != v1::DEVICE_LOST && run.search.xgb != nullptr) {
        run.results.rows.push_back(run.search.xgb->FeaturesAt(flight.indices[i]));
        run.results.gflops.push_back(static_cast<float>(record.gflops));
        run.results.configs.push_back(record.config);
      }
      if (ok && record.config_hash == codegen::ConfigHash(run.space.DefaultConfig())) {
        state.default_gflops = record.gflops;
      }
      if (ok && (!best || record.mean_cost < *best)) best = record.mean_cost;
      if (ok && (!state.best || record.gflops > state.best->gflops)) state.best = record;
    }
    scheduler_->Record(flight.task, trials, best);
    state.stopped = state.stopped || scheduler_->state(flight.task).stopped;
    summary_.last_task = flight.task;
    UpdateEstimate();
    if (progress_) progress_(summary_);
    return status;
  }

  void UpdateEstimate() {
    double total = 0;
    bool complete = true;
    for (const ModelTaskState& state : summary_.tasks) {
      if (!state.best) {
        complete = false;
        continue;
      }
      total += static_cast<double>(state.count) * state.best->mean_cost;
    }
    for (ModelTaskState& state : summary_.tasks) {
      state.share = state.best && total > 0
                        ? static_cast<double>(state.count) * state.best->mean_cost / total
                        : 0;
    }
    summary_.estimated_seconds = complete ? std::optional<double>(total) : std::nullopt;
    if (complete && !summary_.first_estimated_seconds) summary_.first_estimated_seconds = total;
  }

  v1::JobProgress ProgressProto() const {
    v1::JobProgress progress;
    progress.set_model(summary_.model);
    progress.set_trials(summary_.trials);
    progress.set_total_trials(summary_.total_trials);
    progress.set_estimated_seconds(summary_.estimated_seconds.value_or(0));
    for (const ModelTaskState& state : summary_.tasks) {
      v1::TaskProgress* task = progress.add_tasks();
      task->set_workload(state.workload);
      task->set_count(state.count);
      task->set_trials(state.trials);
      task->set_best_seconds(state.best ? state.best->mean_cost : 0);
      task->set_best_gflops(state.best ? state.best->gflops : 0);
      task->set_share(state.share);
      task->set_stopped(state.stopped);
    }
    return progress;
  }

  const ModelTuneOptions& options_;
  db::Database& database_;
  std::function<void(const ModelTuneSummary&)> progress_;
  std::vector<std::unique_ptr<TaskRun>> runs_;
  std::unique_ptr<TaskScheduler> scheduler_;
  BoardNoise noise_;  // of this job's results, per board
  ModelTuneSummary summary_;
  int64_t next_trial_ = 0;  // the job-wide trial number of the next record
};

}  // namespace

absl::Status ValidateModelTuneOptions(const ModelTuneOptions& options) {
  if (options.tasks.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model '", options.model, "' has no tunable workload"));
  }
  if (options.rounds_in_flight < 1) {
    return absl::InvalidArgumentError("rounds in flight must be at least 1");
  }
  for (const ModelTask& task : options.tasks) {
    if (task.count < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("task ", task.workload.key(), ": count must be positive"));
    }
    absl::Status valid = ValidateTuneOptions(TaskOptions(options, task));
    if (!valid.ok()) {
      return absl::Status(valid.code(),
                          absl::StrCat("task ", task.workload.key(), ": ", valid.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelTuneSummary> RunModelJob(
    const ModelTuneOptions& options, db::Database& database,
    const std::function<void(const ModelTuneSummary&)>& progress) {
  if (absl::Status valid = ValidateModelTuneOptions(options); !valid.ok()) return valid;
  ModelJob job(options, database, progress);
  if (absl::Status prepared = job.Prepare(); !prepared.ok()) return prepared;
  if (absl::Status status = job.Run(); !status.ok()) return status;
  ModelTuneSummary summary = job.TakeSummary();
  spdlog::info("model job {} finished: {} trials, {} failed, estimated {} in {:.1f} s", summary.job,
               summary.trials, summary.failures,
               summary.estimated_seconds ? absl::StrCat(*summary.estimated_seconds * 1e3, " ms")
                                         : std::string("(a task has no valid result)"),
               summary.wall_seconds);
  return summary;
}

}  // namespace fleettune::tuner
