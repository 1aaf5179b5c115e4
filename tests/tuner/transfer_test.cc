// Transfer (tuner/transfer.h): loading other shapes' records from a real SQLite database,
// the rows kept for a feature length, the warm-start order, and the source weights.
#include "tuner/transfer.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "cost_model/features.h"
#include "gtest/gtest.h"

namespace fleettune::tuner {
namespace {

class LoadTransferDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fleettune-transfer-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    absl::StatusOr<std::unique_ptr<db::Database>> database =
        db::Database::Open((dir_ / "transfer.db").string());
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *std::move(database);
  }
  void TearDown() override {
    database_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Records one measurement of config `index` of `workload`'s space (template `template_name`).
  v1::Config Add(const std::string& workload, uint64_t index, v1::MeasureStatus status,
                 double gflops, const std::string& device_key = "board",
                 const std::string& template_name = "matmul_blocked") {
    const codegen::CheckedWorkload parsed = *codegen::CheckedWorkload::Parse(workload);
    const codegen::SearchSpace space = *codegen::SearchSpaceFor(parsed, target_, template_name);
    db::Record record;
    record.workload_key = codegen::WorkloadKey(parsed.proto());
    record.target_key = codegen::TargetKey(target_.proto());
    record.device_key = device_key;
    record.job = "job";
    record.config = space.ConfigAt(index % space.size());
    record.config_hash = codegen::ConfigHash(record.config);
    record.status = status;
    if (status == v1::OK) {
      record.costs = {1e-6};
      record.mean_cost = 1e-6;
      record.gflops = gflops;
    }
    EXPECT_TRUE(database_->Insert(&record).ok());
    return record.config;
  }

  std::filesystem::path dir_;
  std::unique_ptr<db::Database> database_;
  const codegen::CheckedTarget target_ = *codegen::CheckedTarget::Parse("host -threads=1");
};

TEST_F(LoadTransferDataTest, GroupsOtherShapesOfTheOpMostRecentFirst) {
  const std::string own = "matmul:m=16,n=16,k=16";
  const std::string wide = "matmul:m=32,n=32,k=32";
  const std::string small = "matmul:m=8,n=8,k=8";
  const v1::Config wide_10 = Add(wide, 3, v1::OK, 10);
  const v1::Config wide_30 = Add(wide, 5, v1::OK, 30);
  const v1::Config wide_failed = Add(wide, 7, v1::BUILD_ERROR, 0);
  const v1::Config small_5 = Add(small, 2, v1::OK, 5);
  Add(small, 4, v1::DEVICE_LOST, 0);                      // the board's fault, not the config's
  Add(own, 1, v1::OK, 50);                                // the workload itself
  Add(wide, 9, v1::OK, 40, "other-board");                // another device key
  Add(wide, 11, v1::OK, 40, "board", "matmul");           // another template
  Add("batch_matmul:b=2,m=16,n=16,k=16", 1, v1::OK, 40);  // another op

  const codegen::CheckedWorkload workload = *codegen::CheckedWorkload::Parse(own);
  absl::StatusOr<TransferData> data =
      LoadTransferData(*database_, workload, target_, "board", "matmul_blocked");
  ASSERT_TRUE(data.ok()) << data.status();
  // One group per workload, in key order; within each, the most recent record first.
  EXPECT_EQ(data->group_sizes, (std::vector<unsigned>{3, 1}));
  EXPECT_EQ(data->throughput, (std::vector<float>{0, 30, 10, 5}));
  ASSERT_EQ(data->configs.size(), 4u);
  EXPECT_EQ(codegen::ConfigToString(data->configs[0]), codegen::ConfigToString(wide_failed));
  EXPECT_EQ(codegen::ConfigToString(data->configs[1]), codegen::ConfigToString(wide_30));
  EXPECT_EQ(codegen::ConfigToString(data->configs[2]), codegen::ConfigToString(wide_10));
  EXPECT_EQ(codegen::ConfigToString(data->configs[3]), codegen::ConfigToString(small_5));
  // Each row is featurised with its own shape.
  ASSERT_EQ(data->rows.size(), 4u);
  EXPECT_EQ(data->rows[1],
            cost_model::ConfigFeatures(*codegen::CheckedWorkload::Parse(wide), target_, wide_30));
  EXPECT_EQ(data->rows[3],
            cost_model::ConfigFeatures(*codegen::CheckedWorkload::Parse(small), target_, small_5));
  EXPECT_NE(data->rows[1], cost_model::ConfigFeatures(workload, target_, wide_30));
}

TEST_F(LoadTransferDataTest, NothingToTransferIsEmptyNotAnError) {
  Add("matmul:m=16,n=16,k=16", 1, v1::OK, 50);
  absl::StatusOr<TransferData> data =
      LoadTransferData(*database_, *codegen::CheckedWorkload::Parse("matmul:m=16,n=16,k=16"),
                       target_, "board", "matmul_blocked");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_TRUE(data->rows.empty());
  EXPECT_TRUE(data->group_sizes.empty());
}

// A config whose one knob `x` holds its candidate index.
v1::Config IndexConfig(int64_t index) {
  v1::Config config;
  config.set_template_name("toy");
  v1::Config::Knob* knob = config.add_knobs();
  knob->set_name("x");
  knob->set_value(index);
  return config;
}

// Candidates are the configs with x in [0, 100).
std::optional<uint64_t> ToyIndex(const v1::Config& config) {
  const int64_t x = config.knobs(0).value();
  if (x < 0 || x >= 100) return std::nullopt;
  return static_cast<uint64_t>(x);
}

TEST(TransferSourcesTest, KeepsRowsOfTheFeatureLengthAndOrdersTheWarmStart) {
  TransferData data;
  // Source A (3 rows kept of 4): x=1 at 5, x=2 at 9, x=3 failed, and a row of the wrong length.
  // Source B (4 rows): x=7 at 1, x=2 at 8 (already A's), x=200 (no candidate) at 50, x=4
  // at NaN (counts as failed). Source C: only a row of the wrong length (dropped).
  auto add = [&](std::vector<float> row, float throughput, int64_t x) {
    data.rows.push_back(std::move(row));
    data.throughput.push_back(throughput);
    data.configs.push_back(IndexConfig(x));
  };
  add({1, 0}, 5, 1);
  add({2, 0}, 9, 2);
  add({3, 0}, 0, 3);
  add({4}, 70, 10);
  add({7, 1}, 1, 7);
  add({2, 1}, 8, 2);
  add({200, 1}, 50, 200);
  add({4, 1}, std::nanf(""), 4);
  add({9}, 60, 9);
  data.group_sizes = {4, 4, 1};

  TransferSources sources(data, /*feature_count=*/2, ToyIndex);
  EXPECT_EQ(sources.data().group_sizes, (std::vector<unsigned>{3, 4}));
  EXPECT_EQ(sources.data().throughput, (std::vector<float>{5, 9, 0, 1, 8, 50, 0}));
  EXPECT_EQ(sources.data().rows.size(), 7u);
  // The most measured source (B) first, each source's next best in turn, each index once,
  // failed configs and configs outside the candidates never.
  EXPECT_EQ(sources.seeds(), (std::vector<uint64_t>{2, 7, 1}));
  EXPECT_EQ(sources.weights(), (std::vector<float>{1, 1}));
  // 7 rows over 2 sources: an average source has 3.5 rows; 2 own rows weigh it in total.
  EXPECT_FLOAT_EQ(sources.OwnWeight(2, 1.0), 1.75f);
  EXPECT_FLOAT_EQ(sources.OwnWeight(7, 2.0), 1.0f);

  // Without configs parallel to the rows, no warm start; the rows are kept all the same.
  data.configs.pop_back();
  TransferSources no_configs(data, 2, ToyIndex);
  EXPECT_TRUE(no_configs.seeds().empty());
  EXPECT_EQ(no_configs.data().rows.size(), 7u);
  EXPECT_TRUE(TransferSources().empty());
}

TEST(TransferSourcesTest, WeighsSourcesByHowTheyRankTheOwnMeasurements) {
  // Source 0 ranks like this workload (throughput grows with the feature), source 1 the
  // other way round.
  TransferData data;
  for (int g = 0; g < 2; ++g) {
    for (int x = 0; x < 20; ++x) {
      data.rows.push_back({static_cast<float>(x)});
      data.throughput.push_back(static_cast<float>(g == 0 ? x : 20 - x));
    }
    data.group_sizes.push_back(20);
  }
  TransferSources sources(data, 1, ToyIndex);
  const std::vector<std::vector<float>> own_rows = {{1}, {6}, {11}, {16}};
  const std::vector<float> own_gflops = {1, 2, 3, 4};
  const cost_model::XgbOptions model;

  // Fewer own rows than asked for, or all alike: no evidence, the weights stay 1.
  sources.Weigh(model, /*min_rows=*/5, own_rows, own_gflops);
  EXPECT_EQ(sources.weights(), (std::vector<float>{1, 1}));
  sources.Weigh(model, 4, own_rows, {2, 2, 2, 2});
  EXPECT_EQ(sources.weights(), (std::vector<float>{1, 1}));

  sources.Weigh(model, 4, own_rows, own_gflops);
  ASSERT_EQ(sources.weights().size(), 2u);
  EXPECT_GT(sources.weights()[0], 0.5f);
  EXPECT_EQ(sources.weights()[1], TransferSources::kMinWeight);
}

TEST(KinResultsTest, KinRowsAreAllOfAFewElseTheBestHalfThenTheLatest) {
  EXPECT_EQ(KinRows({3, 1, 2}), (std::vector<size_t>{0, 1, 2}));
  std::vector<float> gflops(100);
  for (size_t i = 0; i < gflops.size(); ++i) gflops[i] = static_cast<float>(i % 10);  // 9s best
  const std::vector<size_t> rows = KinRows(gflops);
  ASSERT_EQ(rows.size(), kKinRowsPerTask);
  // The best half: the ten rows of 9 GFLOPS first (stable: in recording order), then 8s.
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(rows[i], 10 * i + 9);
  for (size_t i = 0; i < kKinRowsPerTask / 2; ++i) EXPECT_GE(gflops[rows[i]], 7.0f);
  // Then the latest rows not taken yet, newest first: 99 and 98 are among the best (9 and 8),
  // and of the 7s only the first four (7, 17, 27, 37) are.
  EXPECT_EQ(rows[kKinRowsPerTask / 2], 97u);
  EXPECT_EQ(rows[kKinRowsPerTask / 2 + 1], 96u);
  std::vector<size_t> sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "a row twice";
}

TEST(KinResultsTest, RefreshAtOnceThenOnceGrownByHalfAndTwoRounds) {
  EXPECT_FALSE(KinRefreshDue(0, 0, 8));
  EXPECT_TRUE(KinRefreshDue(3, 0, 8));       // the first kin results at once
  EXPECT_FALSE(KinRefreshDue(18, 3, 8));     // 15 more: under two rounds of 8
  EXPECT_TRUE(KinRefreshDue(19, 3, 8));      // 16 more
  EXPECT_FALSE(KinRefreshDue(149, 100, 8));  // under half of 100
  EXPECT_TRUE(KinRefreshDue(150, 100, 8));
}

TEST(KinResultsTest, EachKinWithResultsIsOneMoreGroupWithSeedsWhenOwnHasConfigs) {
  TransferData own;
  own.rows = {{1.0f}};
  own.throughput = {2.0f};
  own.group_sizes = {1};
  own.configs.emplace_back().set_template_name("own");
  KinResults first, empty, second;
  for (int i = 0; i < 3; ++i) {
    first.rows.push_back({static_cast<float>(i)});
    first.gflops.push_back(static_cast<float>(10 + i));
    first.configs.emplace_back().set_template_name("first");
  }
  second.rows = {{7.0f}};
  second.gflops = {5.0f};
  second.configs.emplace_back().set_template_name("second");

  const TransferData data = WithKinResults(own, {&first, &empty, &second});
  EXPECT_EQ(data.group_sizes, (std::vector<unsigned>{1, 3, 1}));
  EXPECT_EQ(data.throughput, (std::vector<float>{2, 10, 11, 12, 5}));
  ASSERT_EQ(data.configs.size(), 5u);
  EXPECT_EQ(data.configs[4].template_name(), "second");

  own.configs.clear();  // no seeds: configs stay empty
  EXPECT_TRUE(WithKinResults(own, {&first}).configs.empty());
}

}  // namespace
}  // namespace fleettune::tuner
