// The XGBoost cost model on a synthetic tuning problem with a known throughput function.
#include "cost_model/xgb_model.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fleettune::cost_model {
namespace {

// 4 knobs with power-of-two values 1..64, as split factors are; the features are what
// KnobFeatures gives (value, log2 value).
struct Problem {
  std::vector<std::vector<float>> features;
  std::vector<float> throughput;
};

// A smooth but nonlinear throughput: a sweet spot in the first knob, a gain in the second,
// and a penalty when the third and fourth disagree.
float TrueThroughput(const int log2_knobs[4]) {
  const double a = log2_knobs[0], b = log2_knobs[1], c = log2_knobs[2], d = log2_knobs[3];
  return static_cast<float>(
      std::exp(-(a - 4) * (a - 4) / 4.0) * (1 + b) / (1 + 0.5 * std::abs(c - d)) + 0.1);
}

Problem MakeProblem(int rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> log2_value(0, 6);
  Problem problem;
  for (int i = 0; i < rows; ++i) {
    int log2_knobs[4];
    std::vector<float> row;
    for (int& knob : log2_knobs) {
      knob = log2_value(rng);
      row.push_back(static_cast<float>(1 << knob));
      row.push_back(static_cast<float>(knob));
    }
    problem.features.push_back(row);
    problem.throughput.push_back(TrueThroughput(log2_knobs));
  }
  return problem;
}

std::vector<size_t> TopIndices(const std::vector<float>& scores, size_t k) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  order.resize(k);
  return order;
}

// How many of the true top-k (by throughput) are among the model's top-k. Ties in the true
// throughput at the k-th place count any tied row as a true top-k member.
int TopKHits(const std::vector<float>& truth, const std::vector<float>& predicted, size_t k) {
  const std::vector<size_t> true_top = TopIndices(truth, k);
  const float threshold = truth[true_top.back()];
  int hits = 0;
  for (size_t index : TopIndices(predicted, k)) hits += truth[index] >= threshold ? 1 : 0;
  return hits;
}

TEST(RankingMetricsTest, KendallTauAndTopKHitsMatchHandComputedValues) {
  EXPECT_DOUBLE_EQ(KendallTau({1, 2, 3, 4}, {1, 2, 3, 4}), 1.0);
  EXPECT_DOUBLE_EQ(KendallTau({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  EXPECT_DOUBLE_EQ(KendallTau({1, 2, 3, 4}, {1, 3, 2, 4}), 4.0 / 6.0);  // 5 concordant, 1 not
  EXPECT_DOUBLE_EQ(KendallTau({2, 2, 2}, {1, 2, 3}), 0.0);  // constant: no evidence either way
  EXPECT_DOUBLE_EQ(KendallTau({1}, {1}), 0.0);
  EXPECT_EQ(TopKHits({5, 4, 3, 2, 1}, {1, 2, 3, 4, 5}, 2), 0);
  EXPECT_EQ(TopKHits({5, 4, 3, 2, 1}, {9, 1, 8, 1, 1}, 2), 1);
  EXPECT_EQ(TopKHits({5, 4, 3, 2, 1}, {9, 8, 1, 1, 1}, 2), 2);
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) /
          absl::StrCat("fleettune_xgb_", getpid(), "_", name))
      .string();
}

std::unique_ptr<XgbModel> MakeModel(const std::string& objective) {
  XgbOptions options;
  options.objective = objective;
  absl::StatusOr<std::unique_ptr<XgbModel>> model = XgbModel::Create(options);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : nullptr;
}

class XgbModelObjectiveTest : public ::testing::TestWithParam<std::string> {};

TEST_P(XgbModelObjectiveTest, RanksHeldOutConfigsOfASyntheticProblem) {
  const Problem problem = MakeProblem(300, /*seed=*/17);
  const std::vector<std::vector<float>> train_x(problem.features.begin(),
                                                problem.features.begin() + 200);
  const std::vector<float> train_y(problem.throughput.begin(), problem.throughput.begin() + 200);
  const std::vector<std::vector<float>> test_x(problem.features.begin() + 200,
                                               problem.features.end());
  const std::vector<float> test_y(problem.throughput.begin() + 200, problem.throughput.end());

  std::unique_ptr<XgbModel> model = MakeModel(GetParam());
  ASSERT_NE(model, nullptr);
  EXPECT_FALSE(model->trained());
  ASSERT_TRUE(model->Fit(train_x, train_y).ok());
  EXPECT_TRUE(model->trained());
  EXPECT_EQ(model->num_features(), 8);

  absl::StatusOr<std::vector<float>> predicted = model->Predict(test_x);
  ASSERT_TRUE(predicted.ok()) << predicted.status();
  ASSERT_EQ(predicted->size(), test_y.size());
  const double tau = KendallTau(test_y, *predicted);
  const int hits = TopKHits(test_y, *predicted, 10);
  EXPECT_GT(tau, 0.7) << GetParam();
  EXPECT_GE(hits, 7) << GetParam() << " tau " << tau;
  // A random ranking would score tau ~ 0 and ~1 hit; record what this one does.
  RecordProperty("kendall_tau", std::to_string(tau));
  RecordProperty("top10_hits", hits);
}

TEST_P(XgbModelObjectiveTest, SaveAndLoadGiveIdenticalPredictions) {
  const Problem problem = MakeProblem(120, /*seed=*/5);
  std::unique_ptr<XgbModel> model = MakeModel(GetParam());
  ASSERT_TRUE(model->Fit(problem.features, problem.throughput).ok());
  const std::string path = TempPath("model_" + std::to_string(GetParam().size()) + ".ubj");
  ASSERT_TRUE(model->Save(path).ok());

  std::unique_ptr<XgbModel> loaded = MakeModel("reg:squarederror");  // options do not matter
  ASSERT_TRUE(loaded->Load(path).ok());
  EXPECT_TRUE(loaded->trained());
  EXPECT_EQ(loaded->num_features(), 8);
  const Problem fresh = MakeProblem(50, /*seed=*/6);
  absl::StatusOr<std::vector<float>> before = model->Predict(fresh.features);
  absl::StatusOr<std::vector<float>> after = loaded->Predict(fresh.features);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(*before, *after);
  std::filesystem::remove(path);
}

TEST_P(XgbModelObjectiveTest, FitIsDeterministicForASeed) {
  const Problem problem = MakeProblem(100, /*seed=*/9);
  std::unique_ptr<XgbModel> first = MakeModel(GetParam());
  std::unique_ptr<XgbModel> second = MakeModel(GetParam());
  ASSERT_TRUE(first->Fit(problem.features, problem.throughput).ok());
  ASSERT_TRUE(second->Fit(problem.features, problem.throughput).ok());
  EXPECT_EQ(*first->Predict(problem.features), *second->Predict(problem.features));
}

TEST_P(XgbModelObjectiveTest, AllZeroThroughputTrainsAConstantModel) {
  const Problem problem = MakeProblem(40, /*seed=*/3);
  std::unique_ptr<XgbModel> model = MakeModel(GetParam());
  ASSERT_TRUE(model->Fit(problem.features, std::vector<float>(40, 0.0f)).ok());
  absl::StatusOr<std::vector<float>> predicted = model->Predict(problem.features);
  ASSERT_TRUE(predicted.ok()) << predicted.status();
  ASSERT_EQ(predicted->size(), 40u);
  for (float score : *predicted) {
    EXPECT_TRUE(std::isfinite(score));
    EXPECT_EQ(score, (*predicted)[0]);  // nothing to learn: every config scores the same
  }
}

// Two workloads that disagree: throughput rises with the feature in the first and falls in
// the second. The heavier group decides the order the model learns.
TEST_P(XgbModelObjectiveTest, GroupWeightsDecideBetweenDisagreeingGroups) {
  std::vector<std::vector<float>> rows;
  std::vector<float> throughput;
  for (int group = 0; group < 2; ++group) {
    for (int x = 1; x <= 16; ++x) {
      rows.push_back({static_cast<float>(x)});
      throughput.push_back(static_cast<float>(group == 0 ? x : 17 - x));
    }
  }
  const std::vector<std::vector<float>> probe = {{2}, {15}};
  for (const auto& [weights, rising] :
       {std::pair<std::vector<float>, bool>{{20, 1}, true}, {{1, 20}, false}}) {
    std::unique_ptr<XgbModel> model = MakeModel(GetParam());
    ASSERT_TRUE(model->FitGroups(rows, throughput, {16, 16}, weights).ok());
    std::vector<float> scores = *model->Predict(probe);
    EXPECT_EQ(scores[1] > scores[0], rising) << "weights " << weights[0] << "," << weights[1];
  }
  std::unique_ptr<XgbModel> model = MakeModel(GetParam());
  absl::Status count = model->FitGroups(rows, throughput, {16, 16}, {1});
  EXPECT_EQ(count.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(count.message().find("1 group weights for 2 groups"), std::string::npos) << count;
  absl::Status negative = model->FitGroups(rows, throughput, {16, 16}, {1, -2});
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.message().find("group weight 1"), std::string::npos) << negative;
  EXPECT_FALSE(model->trained());
}

INSTANTIATE_TEST_SUITE_P(Objectives, XgbModelObjectiveTest,
                         ::testing::Values("rank:pairwise", "reg:squarederror"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "rank:pairwise" ? "RankPairwise"
                                                                : "RegSquaredError";
                         });

TEST(XgbModelTest, FailedConfigsRankBelowGoodOnes) {
  // Throughput 0 for a failed config: the model must learn to avoid the failing region.
  Problem problem = MakeProblem(200, /*seed=*/11);
  for (size_t i = 0; i < problem.features.size(); ++i) {
    if (problem.features[i][1] >= 5) problem.throughput[i] = 0;  // first knob >= 32 fails
  }
  std::unique_ptr<XgbModel> model = MakeModel("rank:pairwise");
  ASSERT_TRUE(model->Fit(problem.features, problem.throughput).ok());
  const Problem fresh = MakeProblem(100, /*seed=*/12);
  absl::StatusOr<std::vector<float>> predicted = model->Predict(fresh.features);
  ASSERT_TRUE(predicted.ok());
  for (size_t index : TopIndices(*predicted, 10)) {
    EXPECT_LT(fresh.features[index][1], 5) << "a failing config ranked in the top 10";
  }
}

TEST(XgbModelTest, RowsOfTheWrongLengthAreInvalidArgumentNotACrash) {
  Problem problem = MakeProblem(30, /*seed=*/1);
  std::unique_ptr<XgbModel> model = MakeModel("rank:pairwise");
  problem.features[7].pop_back();
  absl::Status status = model->Fit(problem.features, problem.throughput);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("row 7 has 7 features"), std::string::npos) << status;
  EXPECT_FALSE(model->trained());

  problem.features[7].push_back(0);
  ASSERT_TRUE(model->Fit(problem.features, problem.throughput).ok());
  std::vector<std::vector<float>> query = {problem.features[0], {1, 2, 3}};
  absl::StatusOr<std::vector<float>> predicted = model->Predict(query);
  EXPECT_EQ(predicted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(predicted.status().message().find("row 1 has 3 features"), std::string::npos)
      << predicted.status();
  EXPECT_TRUE(model->Predict({})->empty());
}

TEST(XgbModelTest, BadFitInputsAreInvalidArgumentAndKeepThePreviousModel) {
  const Problem problem = MakeProblem(30, /*seed=*/2);
  std::unique_ptr<XgbModel> model = MakeModel("reg:squarederror");
  ASSERT_TRUE(model->Fit(problem.features, problem.throughput).ok());
  const std::vector<float> before = *model->Predict(problem.features);

  std::vector<float> short_y(problem.throughput.begin(), problem.throughput.end() - 1);
  EXPECT_EQ(model->Fit(problem.features, short_y).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(model->Fit({}, {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(model->Fit({{}, {}}, {1, 2}).code(), absl::StatusCode::kInvalidArgument);
  std::vector<float> bad_y = problem.throughput;
  bad_y[4] = -1;
  absl::Status status = model->Fit(problem.features, bad_y);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("throughput[4]"), std::string::npos) << status;
  bad_y[4] = std::nanf("");
  EXPECT_EQ(model->Fit(problem.features, bad_y).code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(*model->Predict(problem.features), before);
}

TEST(XgbModelTest, UntrainedModelRefusesPredictAndSave) {
  std::unique_ptr<XgbModel> model = MakeModel("rank:pairwise");
  EXPECT_EQ(model->Predict({{1, 2}}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(model->Save(TempPath("untrained.ubj")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(model->num_features(), 0);
}

TEST(XgbModelTest, LoadRefusesMissingAndGarbageFilesAndKeepsTheModel) {
  const Problem problem = MakeProblem(30, /*seed=*/4);
  std::unique_ptr<XgbModel> model = MakeModel("rank:pairwise");
  ASSERT_TRUE(model->Fit(problem.features, problem.throughput).ok());
  const std::vector<float> before = *model->Predict(problem.features);

  absl::Status status = model->Load(TempPath("does_not_exist.ubj"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;

  for (const std::string& bytes :
       {std::string("this is not a model"), std::string("{\"learner\": 3}"),
        std::string("{L\x00\x00\x00\x00\x00\x00\x00\xff", 11)}) {
    const std::string path = TempPath("garbage.ubj");
    std::ofstream(path, std::ios::binary) << bytes;
    status = model->Load(path);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_NE(status.message().find(path), std::string::npos) << status;
    std::filesystem::remove(path);
  }
  EXPECT_EQ(*model->Predict(problem.features), before);
}

TEST(XgbModelTest, CreateRejectsBadOptionsNamingThem) {
  const auto error = [](XgbOptions options) {
    return std::string(XgbModel::Create(std::move(options)).status().message());
  };
  XgbOptions options;
  options.objective = "binary:logistic";
  EXPECT_NE(error(options).find("objective"), std::string::npos);
  options = XgbOptions();
  options.max_depth = 0;
  EXPECT_NE(error(options).find("max_depth"), std::string::npos);
  options = XgbOptions();
  options.eta = 0;
  EXPECT_NE(error(options).find("eta"), std::string::npos);
  options = XgbOptions();
  options.num_rounds = 0;
  EXPECT_NE(error(options).find("num_rounds"), std::string::npos);
  options = XgbOptions();
  options.nthread = 0;
  EXPECT_NE(error(options).find("nthread"), std::string::npos);
  options = XgbOptions();
  options.min_child_weight = -1;
  EXPECT_NE(error(options).find("min_child_weight"), std::string::npos);
  options = XgbOptions();
  options.colsample_bytree = 0;
  EXPECT_NE(error(options).find("colsample_bytree"), std::string::npos);
  EXPECT_TRUE(XgbModel::Create(XgbOptions()).ok());
}

}  // namespace
}  // namespace fleettune::cost_model
