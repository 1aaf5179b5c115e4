// The pure parts of the confirmation round (tuner/confirm.h) and of the job's board noise
// (tuner/board_noise.h): speedup intervals, board disagreement, the candidates a job picks
// from a real SQLite database, and which boards the round goes to.
#include "tuner/confirm.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "codegen/search_space.h"
#include "gtest/gtest.h"
#include "tuner/board_noise.h"

namespace fleettune::tuner {
namespace {

TEST(SpeedupOverTest, IsTheMedianAndRangeOfPerRoundRatios) {
  // Per round default / candidate: 1.2, 1.0, 1.5, 1.1, 1.25 -> sorted 1.0 1.1 1.2 1.25 1.5.
  const std::vector<double> base = {1.2, 1.0, 3.0, 2.2, 2.5};
  const std::vector<double> tuned = {1.0, 1.0, 2.0, 2.0, 2.0};
  const SpeedupInterval speedup = SpeedupOver(base, tuned);
  EXPECT_DOUBLE_EQ(speedup.median, 1.2);
  EXPECT_NEAR(speedup.low, 1.04, 1e-12);  // 40% of the way from 1.0 to 1.1
  EXPECT_NEAR(speedup.high, 1.4, 1e-12);  // 60% of the way from 1.25 to 1.5
  EXPECT_TRUE(speedup.Reliable());        // 1.04 > 1: a gain all but the unluckiest rounds show
  EXPECT_EQ(DescribeSpeedup(speedup), "1.20x (10-90%: 1.04-1.40x)");
}

TEST(SpeedupOverTest, AnIntervalThatIncludesOneIsNoReliableGain) {
  const SpeedupInterval speedup =
      SpeedupOver({1.0, 1.0, 1.0, 1.0, 1.0}, {0.9, 1.05, 0.95, 1.1, 0.97});
  EXPECT_GT(speedup.median, 1.0);  // the median alone would claim a gain
  EXPECT_LT(speedup.low, 1.0);
  EXPECT_FALSE(speedup.Reliable());
}

TEST(SpeedupOverTest, UsesOnlyRoundsBothHave) {
  const SpeedupInterval speedup = SpeedupOver({2.0, 2.0, 0.0}, {1.0, 1.0, 1.0, 1.0});
  EXPECT_DOUBLE_EQ(speedup.median, 2.0);
  EXPECT_DOUBLE_EQ(SpeedupOver({}, {1.0}).median, 0);
}

BoardConfirmation Board(const std::string& id, const std::vector<double>& medians, double cv) {
  BoardConfirmation board;
  board.board_id = id;
  board.noise_cv = cv;
  for (double median : medians) {
    ConfirmedCandidate candidate;
    candidate.status = median > 0 ? v1::OK : v1::WRONG_ANSWER;
    candidate.median_cost = median;
    board.candidates.push_back(candidate);
  }
  return board;
}

TEST(FindDisagreementsTest, ABoardTwentyPercentSlowerOnEverythingIsReported) {
  const std::vector<std::string> found =
      FindDisagreements({Board("b-1", {1.0, 2.0, 4.0}, 0.02), Board("b-2", {1.2, 2.4, 4.8}, 0.03)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find("b-2 measures the same 3 configs 1.20x slower"), std::string::npos)
      << found[0];
}

TEST(FindDisagreementsTest, DifferencesWithinNoiseOrTenPercentAreNot) {
  // 5% apart: under the 10% floor.
  EXPECT_TRUE(
      FindDisagreements({Board("b-1", {1.0, 2.0}, 0.01), Board("b-2", {1.05, 2.1}, 0.01)}).empty());
  // 20% apart but both boards have 8% noise: 3 x 8% = 24% allowed.
  EXPECT_TRUE(
      FindDisagreements({Board("b-1", {1.0, 2.0}, 0.08), Board("b-2", {1.2, 2.4}, 0.02)}).empty());
  // The same board twice (the tracker gave it both copies) is no pair; a candidate that
  // failed on one board is left out of the comparison.
  EXPECT_TRUE(FindDisagreements({Board("b-1", {1.0}, 0.01), Board("b-1", {2.0}, 0.01)}).empty());
  const std::vector<std::string> found =
      FindDisagreements({Board("b-1", {1.0, 0}, 0.01), Board("b-2", {0.8, 5.0}, 0.01)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find("b-1 measures the same 1 configs 1.25x slower"), std::string::npos)
      << found[0];
}

TEST(BoardNoiseTest, KeepsTheMedianCvOfTheLatestResultsPerBoard) {
  BoardNoise noise;
  noise.Add("b-1", {1.0, 2.0, 3.0});  // CV 0.5
  noise.Add("b-1", {5.0});            // one repeat: ignored
  EXPECT_EQ(noise.Samples("b-1"), 1u);
  EXPECT_DOUBLE_EQ(noise.Cv("b-1"), 0);                      // too few samples to trust
  for (int i = 0; i < 3; ++i) noise.Add("b-1", {1.0, 1.0});  // CV 0
  EXPECT_DOUBLE_EQ(noise.Cv("b-1"), 0);                      // median of 0.5, 0, 0, 0
  for (size_t i = 0; i < BoardNoise::kWindow; ++i) noise.Add("b-2", {2.0, 2.2});
  noise.Add("b-2", {1.0, 1.0});
  EXPECT_EQ(noise.Samples("b-2"), BoardNoise::kWindow);
  EXPECT_NEAR(noise.Cv("b-2"), 0.0673435, 1e-6);  // sqrt(0.02) / 2.1
  EXPECT_EQ(noise.Describe(), "b-1 0.0% (4 results), b-2 6.7% (64 results)");
}

TEST(BoardNoiseTest, AGainSmallerThanTwiceTheNoiseIsWithinIt) {
  EXPECT_TRUE(WithinNoise(0.97, 1.0, 0.02));   // 3% faster, noise 2%: within 4%
  EXPECT_FALSE(WithinNoise(0.90, 1.0, 0.02));  // 11% faster: a real gain
  EXPECT_FALSE(WithinNoise(0.99, 1.0, 0.0));   // noise unknown: not held back
}

v1::BoardStatus BoardOn(const std::string& id, const std::string& key, const std::string& host,
                        const std::string& state = "idle") {
  v1::BoardStatus board;
  board.set_board_id(id);
  board.mutable_info()->set_key(key);
  board.mutable_info()->set_hostname(host);
  board.set_state(state);
  return board;
}

TEST(ConfirmationBoardsTest, OnePerMachineOfTheKey) {
  v1::StatusReply status;
  *status.add_boards() = BoardOn("b-1", "rk3399", "h1");
  *status.add_boards() = BoardOn("b-2", "rk3399", "h1");
  *status.add_boards() = BoardOn("b-3", "rk3399", "h2");
  *status.add_boards() = BoardOn("b-4", "rk3399", "h3", "quarantined");
  *status.add_boards() = BoardOn("b-5", "other", "h4");
  EXPECT_EQ(ConfirmationBoards(status, "rk3399"), 2);
  EXPECT_EQ(ConfirmationBoards(status, "nothing"), 1);  // the tracker then says why
  const std::vector<std::string> warnings = SharedHostWarnings(status, "rk3399");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("boards b-1, b-2 of key rk3399 run on one machine (h1)"),
            std::string::npos)
      << warnings[0];
}

class JobCandidatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("fleettune-confirm-test-" + std::to_string(getpid()) + ".db");
    std::filesystem::remove(path_);
    absl::StatusOr<std::unique_ptr<db::Database>> opened = db::Database::Open(path_.string());
    ASSERT_TRUE(opened.ok()) << opened.status();
    database_ = *std::move(opened);
  }
  void TearDown() override {
    database_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }

  v1::Config ConfigOf(int tile) {
    v1::Config config;
    config.set_template_name("toy");
    v1::Config::Knob* knob = config.add_knobs();
    knob->set_name("tile");
    knob->set_value(tile);
    return config;
  }

  int64_t Insert(const std::string& job, int tile, double cost, v1::MeasureStatus status = v1::OK) {
    db::Record record;
    record.workload_key = "matmul:m=8,n=8,k=8";
    record.target_key = "t";
    record.device_key = "k";
    record.job = job;
    record.config = ConfigOf(tile);
    record.config_hash = codegen::ConfigHash(record.config);
    record.status = status;
    if (status == v1::OK) {
      record.costs = {cost};
      record.mean_cost = cost;
      record.gflops = 1 / cost;
    }
    EXPECT_TRUE(database_->Insert(&record).ok());
    return record.id;
  }

  db::Query Key() {
    db::Query query;
    query.workload_key = "matmul:m=8,n=8,k=8";
    query.target_key = "t";
    query.device_key = "k";
    return query;
  }

  std::filesystem::path path_;
  std::unique_ptr<db::Database> database_;
};

TEST_F(JobCandidatesTest, TheDefaultTheIncumbentThenTheJobsFastest) {
  Insert("old", 1, 0.5);  // the default, measured by an earlier job
  const int64_t incumbent = Insert("old", 9, 0.1);
  const int64_t job_default = Insert("new", 1, 0.6);
  const int64_t third = Insert("new", 4, 0.3);
  Insert("new", 5, 0.9, v1::WRONG_ANSWER);
  const int64_t first = Insert("new", 2, 0.2);
  const int64_t second = Insert("new", 3, 0.25);
  Insert("new", 6, 0.4);

  absl::StatusOr<std::vector<ConfirmCandidate>> candidates =
      JobCandidates(*database_, Key(), "new", ConfigOf(1), 3);
  ASSERT_TRUE(candidates.ok()) << candidates.status();
  std::vector<int64_t> ids;
  for (const ConfirmCandidate& c : *candidates) ids.push_back(c.record_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{job_default, incumbent, first, second, third}));
  EXPECT_TRUE((*candidates)[0].is_default);
  EXPECT_DOUBLE_EQ((*candidates)[0].job_cost, 0.6);
  for (size_t i = 1; i < candidates->size(); ++i) EXPECT_FALSE((*candidates)[i].is_default);

  // --confirm-top 0 asks for nothing; a default without a record is still measured.
  candidates = JobCandidates(*database_, Key(), "new", ConfigOf(7), 0);
  ASSERT_TRUE(candidates.ok()) << candidates.status();
  ASSERT_EQ(candidates->size(), 1u);
  EXPECT_EQ((*candidates)[0].record_id, 0);
  EXPECT_TRUE((*candidates)[0].is_default);
}

}  // namespace
}  // namespace fleettune::tuner
