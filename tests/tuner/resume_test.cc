// What a model job's task takes over from the database (tuner/resume.h), on a real SQLite
// file: the job's own records count as its trials, other jobs' as prior records with their
// fastest cost, every config is marked measured (a lost board's is not), and the job's
// records are rebuilt into the rounds its scheduler replays.
#include "tuner/resume.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fleettune::tuner {
namespace {

// Records what it was told; proposes nothing.
class RecordingSearch final : public Search {
 public:
  std::vector<uint64_t> Propose(int) override { return {}; }
  void MarkVisited(uint64_t) override {}
  void Observe(uint64_t index, double gflops) override { observed[index] = gflops; }
  std::map<uint64_t, double> observed;
};

codegen::SearchSpace ToySpace() {
  v1::Config default_config;
  default_config.set_template_name("toy");
  v1::Config::Knob* knob = default_config.add_knobs();
  knob->set_name("tile");
  knob->set_value(1);
  return codegen::SearchSpace("toy", {{"tile", {1, 2, 3, 4, 5, 6}, ""}}, default_config);
}

class TakeOverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("resume_test_" + std::to_string(getpid()) + ".db");
    absl::StatusOr<std::unique_ptr<db::Database>> opened = db::Database::Open(path_.string());
    ASSERT_TRUE(opened.ok()) << opened.status();
    database_ = *std::move(opened);
  }
  void TearDown() override {
    database_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_.string() + suffix);
  }

  void Insert(const std::string& job, int64_t trial, int tile, double cost,
              v1::MeasureStatus status = v1::OK) {
    db::Record record;
    record.workload_key = "matmul:m=8,n=8,k=8";
    record.target_key = "t";
    record.device_key = "k";
    record.job = job;
    record.trial = trial;
    record.config.set_template_name("toy");
    v1::Config::Knob* knob = record.config.add_knobs();
    knob->set_name("tile");
    knob->set_value(tile);
    record.config_hash = codegen::ConfigHash(record.config);
    record.status = status;
    if (status == v1::OK) {
      record.costs = {cost};
      record.mean_cost = cost;
      record.gflops = 1e-3 / cost;
    }
    ASSERT_TRUE(database_->Insert(&record).ok());
  }

  std::filesystem::path path_;
  std::unique_ptr<db::Database> database_;
};

TEST_F(TakeOverTest, OwnRecordsAreTrialsOthersArePriorAndEveryConfigIsMeasured) {
  Insert("old", 0, 1, 0.004);  // the default, by an earlier job
  Insert("old", 1, 2, 0.002);
  Insert("mine", 0, 3, 0.003);
  Insert("mine", 1, 4, 0, v1::WRONG_ANSWER);
  Insert("mine", 2, 5, 0, v1::DEVICE_LOST);  // may be measured again
  Insert("mine", 3, 6, 0.001);

  db::Query query;
  query.workload_key = "matmul:m=8,n=8,k=8";
  query.target_key = "t";
  query.device_key = "k";
  const codegen::SearchSpace space = ToySpace();
  RecordingSearch search;
  absl::flat_hash_set<uint64_t> measured;
  ModelTaskState state;
  absl::StatusOr<TaskTakeover> takeover =
      TakeOverTaskRecords(query, "mine", 7, *database_, space, search, measured, state);
  ASSERT_TRUE(takeover.ok()) << takeover.status();

  EXPECT_EQ(state.trials, 4);
  EXPECT_EQ(state.failures, 2);
  EXPECT_EQ(state.prior_records, 2);
  ASSERT_TRUE(takeover->prior_best_seconds.has_value());
  EXPECT_DOUBLE_EQ(*takeover->prior_best_seconds, 0.002);
  ASSERT_TRUE(state.best.has_value());
  EXPECT_DOUBLE_EQ(state.best->mean_cost, 0.001);
  EXPECT_DOUBLE_EQ(state.default_gflops, 1e-3 / 0.004);
  ASSERT_EQ(takeover->job_trials.size(), 4u);
  for (const JobTrial& trial : takeover->job_trials) EXPECT_EQ(trial.task, 7u);

  // Tiles 1-4 and 6 are measured (index = tile - 1); the lost board's tile 5 is not.
  EXPECT_EQ(measured, (absl::flat_hash_set<uint64_t>{0, 1, 2, 3, 5}));
  EXPECT_EQ(search.observed.size(), 5u);
  EXPECT_DOUBLE_EQ(search.observed.at(3), 0.0);  // WRONG_ANSWER: observed as 0 GFLOPS
  EXPECT_DOUBLE_EQ(search.observed.at(5), 1.0);
}

TEST(ReplayedRoundsTest, RunsOfOneTaskInTrialOrderUpToABatch) {
  const std::vector<JobTrial> trials = {{5, 1, true, 0.5}, {0, 0, true, 0.3}, {1, 0, false, 0},
                                        {2, 0, true, 0.2}, {3, 0, true, 0.4}, {4, 1, false, 0},
                                        {6, 0, true, 0.1}};
  const std::vector<ReplayedRound> rounds = ReplayedRounds(trials, /*batch_size=*/3);
  ASSERT_EQ(rounds.size(), 4u);
  EXPECT_EQ(rounds[0].task, 0u);  // trials 0-2: a full batch
  EXPECT_EQ(rounds[0].trials, 3);
  EXPECT_DOUBLE_EQ(*rounds[0].best_seconds, 0.2);
  EXPECT_EQ(rounds[1].task, 0u);  // trial 3
  EXPECT_EQ(rounds[1].trials, 1);
  EXPECT_EQ(rounds[2].task, 1u);  // trials 4-5
  EXPECT_EQ(rounds[2].trials, 2);
  EXPECT_DOUBLE_EQ(*rounds[2].best_seconds, 0.5);
  EXPECT_EQ(rounds[3].trials, 1);  // trial 6
  EXPECT_DOUBLE_EQ(*rounds[3].best_seconds, 0.1);

  const std::vector<ReplayedRound> failed = ReplayedRounds({{0, 2, false, 0}}, 4);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_FALSE(failed[0].best_seconds.has_value());
  EXPECT_TRUE(ReplayedRounds({}, 4).empty());
}

}  // namespace
}  // namespace fleettune::tuner
