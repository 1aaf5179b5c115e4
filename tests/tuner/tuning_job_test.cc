// The tuning loop end to end on an embedded loopback fleet: resume, seeds, early stopping,
// model save/load, and the summary's time split.
#include "tuner/tuning_job.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "db/database.h"
#include "gtest/gtest.h"
#include "tuner/embedded_fleet.h"
#include "tuner/model_history.h"
#include "tuner/model_job.h"
#include "util/median.h"

namespace fleettune::tuner {
namespace {

constexpr char kKey[] = "jobtest";

class TuningJobTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("FLEETTUNE_RPC_SERVER", FLEETTUNE_RPC_SERVER_BIN, /*overwrite=*/0);
    absl::StatusOr<std::unique_ptr<EmbeddedFleet>> fleet = EmbeddedFleet::Start(kKey, 1);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = fleet->release();
  }
  static void TearDownTestSuite() {
    delete fleet_;
    fleet_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(fleet_, nullptr);
    dir_ = std::filesystem::temp_directory_path() /
           ("fleettune-jobtest-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<db::Database> OpenDb(const std::string& name) {
    absl::StatusOr<std::unique_ptr<db::Database>> database =
        db::Database::Open((dir_ / name).string());
    EXPECT_TRUE(database.ok()) << database.status();
    return database.ok() ? *std::move(database) : nullptr;
  }

  // A small matmul with quick measurements.
  TuneOptions Options(const std::string& workload, int trials, const std::string& tuner) {
    TuneOptions options(*codegen::CheckedWorkload::Parse(workload),
                        *codegen::CheckedTarget::Parse("host -threads=1"));
    options.device_key = kKey;
    options.tracker_address = fleet_->address();
    options.tracker_token = fleet_->client_token();
    options.trials = trials;
    options.tuner = tuner;
    options.seed = 3;
    options.batch_size = 4;
    options.builder_threads = 2;
    options.measure = DefaultMeasureOptions();
    options.measure.set_repeat(1);
    options.measure.set_min_repeat_ms(1);
    return options;
  }

  static std::vector<db::Record> History(db::Database& database, const TuneOptions& options) {
    db::Query query;
    query.workload_key = codegen::WorkloadKey(options.workload.proto());
    absl::StatusOr<std::vector<db::Record>> history = database.History(query);
    EXPECT_TRUE(history.ok()) << history.status();
    return history.ok() ? *history : std::vector<db::Record>{};
  }

  static EmbeddedFleet* fleet_;
  std::filesystem::path dir_;
};

EmbeddedFleet* TuningJobTest::fleet_ = nullptr;

TEST_F(TuningJobTest, ResumeContinuesWithoutMeasuringAnyConfigTwice) {
  std::unique_ptr<db::Database> database = OpenDb("resume.db");
  TuneOptions options = Options("matmul:m=24,n=40,k=16", 6, "xgb");
  absl::StatusOr<TuneSummary> first = RunTuningJob(options, *database, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->trials, 6);
  ASSERT_EQ(History(*database, options).size(), 6u);

  options.trials = 15;
  options.resume = true;
  absl::StatusOr<TuneSummary> resumed = RunTuningJob(options, *database, nullptr);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->resumed_trials, 6);
  EXPECT_EQ(resumed->trials, 15);
  EXPECT_EQ(resumed->job, first->job);
  ASSERT_TRUE(resumed->best.has_value());
  EXPECT_GE(resumed->best->gflops, first->best->gflops);

  const std::vector<db::Record> history = History(*database, options);
  ASSERT_EQ(history.size(), 15u);
  std::set<uint64_t> hashes;
  std::set<int64_t> trials;
  for (const db::Record& record : history) {
    EXPECT_TRUE(hashes.insert(record.config_hash).second)
        << "measured twice: " << codegen::ConfigToString(record.config);
    trials.insert(record.trial);
    EXPECT_EQ(record.job, first->job);
  }
  EXPECT_EQ(trials.size(), 15u);
  EXPECT_EQ(*trials.rbegin(), 14);

  // Resuming a finished job measures nothing.
  absl::StatusOr<TuneSummary> again = RunTuningJob(options, *database, nullptr);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(History(*database, options).size(), 15u);
}

// Two jobs of one workload started at the same moment on one database, without a job name,
// are two jobs: each has its own name and every trial number once (issue #18: a name made of
// workload and second merged them).
TEST_F(TuningJobTest, JobsStartedTogetherWithoutANameGetDistinctNames) {
  std::unique_ptr<db::Database> database = OpenDb("together.db");
  const TuneOptions options = Options("matmul:m=16,n=16,k=16", 3, "random");
  absl::StatusOr<TuneSummary> summaries[2] = {absl::UnknownError("not run"),
                                              absl::UnknownError("not run")};
  std::thread second([&] { summaries[1] = RunTuningJob(options, *database, nullptr); });
  summaries[0] = RunTuningJob(options, *database, nullptr);
  second.join();
  ASSERT_TRUE(summaries[0].ok()) << summaries[0].status();
  ASSERT_TRUE(summaries[1].ok()) << summaries[1].status();
  EXPECT_NE(summaries[0]->job, summaries[1]->job);
  const std::string prefix = codegen::WorkloadKey(options.workload.proto()) + "@";
  for (const auto& summary : summaries) {
    EXPECT_EQ(summary->job.rfind(prefix, 0), 0u) << summary->job;
    EXPECT_EQ(summary->trials, 3);
    std::multiset<int64_t> trials;
    for (const db::Record& record : History(*database, options)) {
      if (record.job == summary->job) trials.insert(record.trial);
    }
    EXPECT_EQ(trials, (std::multiset<int64_t>{0, 1, 2})) << summary->job;
  }
}

// A given job name that already has records is refused before anything is measured, unless
// the job is resumed; resuming a job that two tuners once wrote counts each trial once.
TEST_F(TuningJobTest, AnExistingJobNameIsRefusedUnlessResumed) {
  std::unique_ptr<db::Database> database = OpenDb("named.db");
  TuneOptions options = Options("matmul:m=16,n=16,k=16", 4, "random");
  options.job_name = "nightly";
  // The job as two tuners sharing its name left it: trials 0 and 1 twice each.
  const codegen::SearchSpace space = *codegen::SearchSpaceFor(options.workload, options.target);
  for (int i = 0; i < 4; ++i) {
    db::Record record;
    record.workload_key = codegen::WorkloadKey(options.workload.proto());
    record.target_key = codegen::TargetKey(options.target.proto());
    record.device_key = kKey;
    record.job = "nightly";
    record.trial = i / 2;
    record.config = space.ConfigAt(i);
    record.config_hash = codegen::ConfigHash(record.config);
    record.status = v1::OK;
    record.costs = {1e-3};
    record.mean_cost = 1e-3;
    record.gflops = 1;
    ASSERT_TRUE(database->Insert(&record).ok());
  }

  absl::StatusOr<TuneSummary> refused = RunTuningJob(options, *database, nullptr);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_NE(refused.status().message().find("--job 'nightly' already has 4 records"),
            std::string::npos)
      << refused.status();
  EXPECT_NE(refused.status().message().find("--resume"), std::string::npos);
  EXPECT_EQ(History(*database, options).size(), 4u);

  options.resume = true;
  absl::StatusOr<TuneSummary> resumed = RunTuningJob(options, *database, nullptr);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->job, "nightly");
  EXPECT_EQ(resumed->resumed_trials, 2);  // trials 0 and 1, each recorded twice
  EXPECT_EQ(resumed->trials, 4);
  std::multiset<int64_t> trials;
  for (const db::Record& record : History(*database, options)) trials.insert(record.trial);
  EXPECT_EQ(trials, (std::multiset<int64_t>{0, 0, 1, 1, 2, 3}));
}

TEST_F(TuningJobTest, SameSeedProposesTheSameConfigsAndSummarySplitsTheTime) {
  for (const char* tuner : {"random", "ga"}) {
    std::vector<std::vector<uint64_t>> runs;
    for (int run = 0; run < 2; ++run) {
      std::unique_ptr<db::Database> database =
          OpenDb(std::string(tuner) + std::to_string(run) + ".db");
      TuneOptions options = Options("matmul:m=24,n=40,k=16", 10, tuner);
      absl::StatusOr<TuneSummary> summary = RunTuningJob(options, *database, nullptr);
      ASSERT_TRUE(summary.ok()) << summary.status();
      EXPECT_GT(summary->build_seconds, 0);
      EXPECT_GT(summary->measure_seconds, 0);
      std::vector<uint64_t> hashes;
      for (const db::Record& record : History(*database, options)) {
        hashes.push_back(record.config_hash);
      }
      runs.push_back(hashes);
    }
    EXPECT_EQ(runs[0].size(), 10u) << tuner;
    EXPECT_EQ(runs[0], runs[1]) << tuner;
  }
}

TEST_F(TuningJobTest, EarlyStopEndsTheJobAfterTrialsWithoutANewBest) {
  std::unique_ptr<db::Database> database = OpenDb("early.db");
  TuneOptions options = Options("matmul:m=24,n=40,k=16", 60, "random");
  options.early_stop = 2;
  absl::StatusOr<TuneSummary> summary = RunTuningJob(options, *database, nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->best.has_value());
  if (summary->stopped_early) {
    EXPECT_LT(summary->trials, 60);
    EXPECT_GE(summary->trials - 1 - summary->best->trial, 2);
  }
  // Two trials without improvement out of 60 random ones happens in practice every time.
  EXPECT_TRUE(summary->stopped_early);
  EXPECT_EQ(static_cast<int>(History(*database, options).size()), summary->trials);
  options.early_stop = -1;
  EXPECT_EQ(RunTuningJob(options, *database, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TuningJobTest, XgbSavesAModelThatALaterJobLoadsAndTransfersFromOtherShapes) {
  std::unique_ptr<db::Database> database = OpenDb("model.db");
  TuneOptions options = Options("matmul:m=24,n=40,k=16", 16, "xgb");
  options.save_model = (dir_ / "matmul.model").string();
  absl::StatusOr<TuneSummary> first = RunTuningJob(options, *database, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->model_saved);
  EXPECT_GT(first->model_seconds, 0);
  EXPECT_EQ(first->transfer_rows, 0);

  // Another shape of the same op: trains on the first shape's 16 records, loads the model.
  TuneOptions second_options = Options("matmul:m=32,n=24,k=20", 8, "xgb");
  second_options.load_model = options.save_model;
  absl::StatusOr<TuneSummary> second = RunTuningJob(second_options, *database, nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->transfer_rows, 16);
  // Warm start: the first shape's best config that this shape's space also holds is measured
  // in the first round (a batch of 4: the default, then up to 2 seeds).
  std::vector<db::Record> sources = History(*database, options);
  std::stable_sort(sources.begin(), sources.end(),
                   [](const db::Record& a, const db::Record& b) { return a.gflops > b.gflops; });
  const codegen::SearchSpace second_space =
      *codegen::SearchSpaceFor(second_options.workload, second_options.target);
  auto seed = std::find_if(sources.begin(), sources.end(), [&](const db::Record& record) {
    return record.status == v1::OK && second_space.IndexOf(record.config).ok();
  });
  ASSERT_NE(seed, sources.end()) << "no config of the first shape fits the second";
  bool seeded = false;
  for (const db::Record& record : History(*database, second_options)) {
    seeded |= record.trial < 4 && record.config_hash == seed->config_hash;
  }
  EXPECT_TRUE(seeded) << "the first shape's best valid config was not measured in round 1";

  second_options.load_model = (dir_ / "missing.model").string();
  absl::StatusOr<TuneSummary> missing = RunTuningJob(second_options, *database, nullptr);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("--load-model"), std::string::npos);
  second_options.load_model.clear();
  second_options.tuner = "random";
  second_options.save_model = options.save_model;
  EXPECT_EQ(RunTuningJob(second_options, *database, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A model job of two kin tasks (one template): the second task's first round tries the first
// task's best non-default config (shared learning), and the estimate is the records' count x best
// sum.
TEST_F(TuningJobTest, ModelJobSharesKinResultsAndEstimatesTheNetwork) {
  std::unique_ptr<db::Database> database = OpenDb("model.db");
  ASSERT_NE(database, nullptr);
  const std::string a = "matmul:m=64,n=64,k=64";
  const std::string b = "matmul:m=64,n=64,k=64,bias=1";
  std::vector<ModelTask> tasks = {{*codegen::CheckedWorkload::Parse(a), 2},
                                  {*codegen::CheckedWorkload::Parse(b), 1}};
  ModelTuneOptions options("kin", std::move(tasks), Options(a, 12, "xgb"));
  options.scheduler.policy = SchedulerPolicy::kRoundRobin;  // a, b, a
  absl::StatusOr<ModelTuneSummary> summary = RunModelJob(options, *database, nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->trials, 12);
  EXPECT_EQ(summary->job.rfind("kin@", 0), 0u) << summary->job;

  db::Query query;
  query.job = summary->job;
  absl::StatusOr<std::vector<db::Record>> records = database->History(query);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 12u);
  const uint64_t default_hash =
      codegen::ConfigHash(codegen::SearchSpaceFor(*codegen::CheckedWorkload::Parse(a),
                                                  *codegen::CheckedTarget::Parse("host -threads=1"))
                              ->DefaultConfig());
  std::map<std::string, double> best;  // workload: fastest seconds
  std::optional<db::Record> first_round_best;
  std::set<std::string> second_round;  // configs of b's first round
  for (const db::Record& record : *records) {
    EXPECT_EQ(record.workload_key, record.trial < 4 || record.trial >= 8 ? a : b)
        << "trial " << record.trial;
    if (record.status != v1::OK) continue;
    auto [it, added] = best.emplace(record.workload_key, record.mean_cost);
    if (!added) it->second = std::min(it->second, record.mean_cost);
    // The default is each task's first trial anyway; the seeds are a's other best configs.
    if (record.trial < 4 && record.config_hash != default_hash &&
        (!first_round_best || record.mean_cost < first_round_best->mean_cost)) {
      first_round_best = record;
    }
    if (record.trial >= 4 && record.trial < 8) {
      second_round.insert(codegen::ConfigToString(record.config));
    }
  }
  ASSERT_TRUE(first_round_best.has_value());
  EXPECT_TRUE(second_round.count(codegen::ConfigToString(first_round_best->config)) == 1)
      << "b's first round did not try a's best non-default config "
      << codegen::ConfigToString(first_round_best->config);
  ASSERT_EQ(best.size(), 2u);
  const double expected = 2 * best[a] + best[b];
  ASSERT_TRUE(summary->estimated_seconds.has_value());
  EXPECT_DOUBLE_EQ(*summary->estimated_seconds, expected);

  absl::StatusOr<std::vector<ModelTrial>> history = ModelJobHistory(
      *database, summary->job, {ScheduledTask{a, "", 2, 0}, ScheduledTask{b, "", 1, 0}});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 12u);
  EXPECT_FALSE(history->front().estimated_seconds.has_value());  // b has no result yet
  ASSERT_TRUE(history->back().estimated_seconds.has_value());
  EXPECT_DOUBLE_EQ(*history->back().estimated_seconds, expected);
  absl::StatusOr<std::string> latest =
      LatestModelJob(*database, "kin", {a, b}, std::nullopt, std::nullopt);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, summary->job);
  EXPECT_TRUE(absl::IsNotFound(
      LatestModelJob(*database, "other", {a, b}, std::nullopt, std::nullopt).status()));
}

TEST_F(TuningJobTest, ConfirmationRoundRecordsInterleavedRoundsAndBestRanksByThem) {
  std::unique_ptr<db::Database> database = OpenDb("confirm.db");
  ASSERT_NE(database, nullptr);
  TuneOptions options = Options("matmul:m=24,n=40,k=16", 10, "random");
  options.confirm.top = 3;
  options.confirm.rounds = 4;
  absl::StatusOr<TuneSummary> summary = RunTuningJob(options, *database, nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->confirmation.has_value()) << summary->confirmation_failure;
  EXPECT_FALSE(summary->noise.empty());
  const Confirmation& confirmation = *summary->confirmation;
  ASSERT_EQ(confirmation.boards.size(), 1u);  // one machine: one board measures
  const BoardConfirmation& board = confirmation.boards[0];

  // The candidates: the default, then the job's 3 fastest other configs by their job cost
  // (a fresh database has no incumbent from another job).
  std::vector<db::Record> others;
  const uint64_t default_hash = codegen::ConfigHash(
      codegen::SearchSpaceFor(options.workload, options.target)->DefaultConfig());
  for (const db::Record& record : History(*database, options)) {
    if (record.status == v1::OK && record.config_hash != default_hash) others.push_back(record);
  }
  ASSERT_GE(others.size(), 3u);
  std::stable_sort(others.begin(), others.end(), [](const db::Record& a, const db::Record& b) {
    return a.mean_cost < b.mean_cost;
  });
  ASSERT_EQ(board.candidates.size(), 4u);
  EXPECT_TRUE(board.candidates[0].candidate.is_default);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(board.candidates[i].candidate.record_id, others[i - 1].id) << "candidate " << i;
  }
  for (const ConfirmedCandidate& candidate : board.candidates) {
    ASSERT_EQ(candidate.status, v1::OK) << candidate.error;
    ASSERT_EQ(candidate.costs.size(), 4u);
    EXPECT_DOUBLE_EQ(candidate.median_cost, util::Median(candidate.costs));
    const SpeedupInterval expected = SpeedupOver(board.candidates[0].costs, candidate.costs);
    EXPECT_DOUBLE_EQ(candidate.speedup.median, expected.median);
    EXPECT_LE(candidate.speedup.low, candidate.speedup.median);
    EXPECT_GE(candidate.speedup.high, candidate.speedup.median);
  }
  EXPECT_DOUBLE_EQ(board.candidates[0].speedup.median, 1.0);  // the default against itself

  // Every candidate's record carries its rounds and the default's of the same rounds.
  std::map<int64_t, db::Record> by_id;
  for (const db::Record& record : History(*database, options)) by_id[record.id] = record;
  for (const ConfirmedCandidate& candidate : board.candidates) {
    ASSERT_NE(candidate.candidate.record_id, 0);
    const db::Record& record = by_id[candidate.candidate.record_id];
    EXPECT_EQ(record.confirmed_costs, candidate.costs);
    EXPECT_EQ(record.confirmed_default_costs, board.candidates[0].costs);
  }
  // best/compile rank by the confirmed medians: the database's best is the round's fastest.
  ASSERT_NE(confirmation.best(), nullptr);
  db::Query key;
  key.workload_key = options.workload.key();
  key.target_key = options.target.key();
  key.device_key = options.device_key;
  absl::StatusOr<std::vector<db::Record>> best = database->Best(key, 4);
  ASSERT_TRUE(best.ok()) << best.status();
  ASSERT_EQ(best->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*best)[i].id, confirmation.ranked[i].candidate.record_id) << "rank " << i;
  }
}

TEST_F(TuningJobTest, ConfirmTopZeroRunsNoRoundAndLeavesRecordsUnconfirmed) {
  std::unique_ptr<db::Database> database = OpenDb("unconfirmed.db");
  ASSERT_NE(database, nullptr);
  TuneOptions options = Options("matmul:m=24,n=40,k=16", 5, "random");
  options.confirm.top = 0;
  absl::StatusOr<TuneSummary> summary = RunTuningJob(options, *database, nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_FALSE(summary->confirmation.has_value());
  EXPECT_EQ(summary->confirmation_failure, "");
  EXPECT_EQ(summary->held_back, 0);
  for (const db::Record& record : History(*database, options)) {
    EXPECT_TRUE(record.confirmed_costs.empty());
  }
  options.confirm.rounds = 0;
  EXPECT_EQ(RunTuningJob(options, *database, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TuningJobTest, ModelJobConfirmsEachTaskAndEstimatesFromTheConfirmedMedians) {
  std::unique_ptr<db::Database> database = OpenDb("model-confirm.db");
  ASSERT_NE(database, nullptr);
  const std::string a = "matmul:m=32,n=32,k=32";
  const std::string b = "matmul:m=16,n=48,k=32";
  std::vector<ModelTask> tasks = {{*codegen::CheckedWorkload::Parse(a), 3},
                                  {*codegen::CheckedWorkload::Parse(b), 1}};
  TuneOptions common = Options(a, 10, "random");
  common.confirm.top = 2;
  common.confirm.rounds = 3;
  ModelTuneOptions options("confirmed", std::move(tasks), common);
  options.scheduler.policy = SchedulerPolicy::kRoundRobin;
  absl::StatusOr<ModelTuneSummary> summary = RunModelJob(options, *database, nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status();
  double expected = 0;
  for (const ModelTaskState& task : summary->tasks) {
    ASSERT_TRUE(task.confirmed.has_value()) << task.workload << ": " << task.confirmation_failure;
    EXPECT_EQ(task.confirmed->costs.size(), 3u);
    EXPECT_GT(task.confirmed->speedup.median, 0) << "the default was measured beside it";
    expected += static_cast<double>(task.count) * task.confirmed->median_cost;
    db::Query query;
    query.workload_key = task.workload;
    absl::StatusOr<std::vector<db::Record>> best = database->Best(query, 1);
    ASSERT_TRUE(best.ok()) << best.status();
    ASSERT_EQ(best->size(), 1u);
    EXPECT_EQ((*best)[0].confirmed_costs, task.confirmed->costs) << task.workload;
  }
  ASSERT_TRUE(summary->confirmed_estimated_seconds.has_value());
  EXPECT_DOUBLE_EQ(*summary->confirmed_estimated_seconds, expected);
}

}  // namespace
}  // namespace fleettune::tuner
