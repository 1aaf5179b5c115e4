// Loop-nest features: the summary reflects the schedule, and every config of a template
// gives a vector of the same length that the model accepts.
#include <random>
#include <string>
#include <vector>

#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/loop_nest.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "cost_model/features.h"
#include "cost_model/xgb_model.h"
#include "gtest/gtest.h"

namespace fleettune::cost_model {
namespace {

codegen::CheckedWorkload Workload(const std::string& text) {
  absl::StatusOr<codegen::CheckedWorkload> workload = codegen::CheckedWorkload::Parse(text);
  EXPECT_TRUE(workload.ok()) << workload.status();
  return *workload;
}

codegen::CheckedTarget Host() { return *codegen::CheckedTarget::Parse("host -threads=1"); }

// A sample of a space's indices: the first, the last and `count` random ones.
std::vector<uint64_t> Sample(const codegen::SearchSpace& space, int count, unsigned seed) {
  std::vector<uint64_t> indices = {0, space.size() - 1};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, space.size() - 1);
  for (int i = 0; i < count; ++i) indices.push_back(pick(rng));
  return indices;
}

TEST(LoopNestTest, MatmulSummaryHasTheWorkloadsFlopsAndStrides) {
  const codegen::CheckedWorkload workload = Workload("matmul:m=64,n=64,k=64");
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(workload, Host());
  ASSERT_TRUE(space.ok());
  absl::StatusOr<codegen::LoopNestSummary> summary =
      codegen::DescribeLoopNest(workload, Host(), space->DefaultConfig());
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_FALSE(summary->loops.empty());
  EXPECT_EQ(summary->loops[0].depth, 0);
  // A multiply-add per (i, j, k): 2 * 64^3 flops, however the loops are tiled, plus at most
  // a few percent for adding accumulator tiles back into C.
  EXPECT_GE(summary->flops, 2.0 * 64 * 64 * 64);
  EXPECT_LE(summary->flops, 1.1 * 2.0 * 64 * 64 * 64);
  bool saw_output_store = false;
  for (const codegen::AccessSummary& access : summary->accesses) {
    ASSERT_EQ(access.strides.size(), access.loops.size());
    if (access.buffer == "C" && access.is_store) saw_output_store = true;
    for (size_t i = 0; i < access.loops.size(); ++i) {
      ASSERT_LT(access.loops[i], static_cast<int>(summary->loops.size()));
      EXPECT_EQ(summary->loops[access.loops[i]].depth, static_cast<int>(i));
    }
  }
  EXPECT_TRUE(saw_output_store);
}

TEST(LoopNestTest, RejectsAConfigOfAnotherSpaceNamingTheKnob) {
  const codegen::CheckedWorkload workload = Workload("matmul:m=64,n=64,k=64");
  v1::Config config = codegen::SearchSpaceFor(workload, Host())->DefaultConfig();
  config.mutable_knobs(0)->set_value(12345);
  absl::StatusOr<codegen::LoopNestSummary> summary =
      codegen::DescribeLoopNest(workload, Host(), config);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(summary.status().message().find(config.knobs(0).name()), std::string::npos)
      << summary.status();
  // Features of such a config keep the template's length (zeros for the nest).
  EXPECT_EQ(ConfigFeatures(workload, Host(), config).size(),
            static_cast<size_t>(LoopNestFeatureCount() + 2 * config.knobs_size()));
}

class FixedLengthTest : public testing::TestWithParam<const char*> {};

TEST_P(FixedLengthTest, EveryConfigHasTheSameLengthAndTheModelTakesThem) {
  const codegen::CheckedWorkload workload = Workload(GetParam());
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(workload, Host());
  ASSERT_TRUE(space.ok()) << space.status();
  const size_t expected = LoopNestFeatureCount() + 2 * space->knobs().size();
  std::vector<uint64_t> indices = Sample(*space, 200, 7);
  std::vector<std::vector<float>> rows;
  std::vector<float> throughput;
  for (uint64_t index : indices) {
    const v1::Config config = space->ConfigAt(index);
    std::vector<float> row = ConfigFeatures(workload, Host(), config);
    ASSERT_EQ(row.size(), expected) << "config " << codegen::ConfigToString(config);
    ASSERT_TRUE(codegen::DescribeLoopNest(workload, Host(), config).ok())
        << codegen::ConfigToString(config);
    rows.push_back(std::move(row));
    throughput.push_back(static_cast<float>(index % 7));
  }
  // How long this takes is search_bench's to say ("features ... ms per config"): timings do
  // not belong in unit tests.
  // Distinct configs give distinct loop-nest parts somewhere in the sample.
  bool differ = false;
  for (const std::vector<float>& row : rows) {
    differ |= !std::equal(row.begin(), row.begin() + LoopNestFeatureCount(), rows[0].begin());
  }
  EXPECT_TRUE(differ);

  // The model takes them, and refuses (an error, not a crash) a row of another length.
  absl::StatusOr<std::unique_ptr<XgbModel>> model = XgbModel::Create({});
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE((*model)->Fit(rows, throughput).ok());
  std::vector<float> short_row = rows[0];
  short_row.pop_back();
  absl::StatusOr<std::vector<float>> predicted = (*model)->Predict({rows[1], short_row});
  EXPECT_EQ(predicted.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<float> long_row = rows[0];
  long_row.push_back(1);
  EXPECT_EQ((*model)->Predict({long_row}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*model)->Predict({rows[2]})->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Templates, FixedLengthTest,
                         testing::Values("matmul:m=512,n=512,k=512", "matmul:m=100,n=37,k=61",
                                         "conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1",
                                         "depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=1,"
                                         "pad=1"));

TEST(LoopNestFeaturesTest, PadsAndTruncatesToTheFixedSlots) {
  codegen::LoopNestSummary empty;
  EXPECT_EQ(LoopNestFeatures(empty).size(), static_cast<size_t>(LoopNestFeatureCount()));
  codegen::LoopNestSummary deep;
  for (int i = 0; i < kLoopSlots + 5; ++i) {
    codegen::LoopSummary loop;
    loop.var = "i" + std::to_string(i);
    loop.extent = 3;
    loop.depth = i;
    loop.kind = i == 0 ? codegen::LoopKind::kParallel : codegen::LoopKind::kSerial;
    deep.loops.push_back(loop);
  }
  codegen::AccessSummary access;
  access.buffer = "A";
  access.loops = {0, 1};
  access.strides = {0, 1};
  access.executions = 9;
  for (int i = 0; i < kAccessSlots + 3; ++i) deep.accesses.push_back(access);
  std::vector<float> features = LoopNestFeatures(deep);
  ASSERT_EQ(features.size(), static_cast<size_t>(LoopNestFeatureCount()));
  // Slot 0: extent log2(1 + 3) = 2, parallel, depth 0, constant.
  EXPECT_FLOAT_EQ(features[0], 2.0f);
  EXPECT_FLOAT_EQ(features[1], 0.0f);
  EXPECT_FLOAT_EQ(features[2], 1.0f);
  // Access slot 0, innermost level: 3 distinct elements (12 bytes), reuse 1; whole nest:
  // 3 distinct elements over 9 iterations, reuse 3.
  const int access0 = kLoopSlots * kFeaturesPerLoop;
  EXPECT_FLOAT_EQ(features[access0 + 2], std::log2(10.0f));  // executions
  EXPECT_FLOAT_EQ(features[access0 + 3], 1.0f);              // innermost stride 1
  EXPECT_FLOAT_EQ(features[access0 + 4], std::log2(13.0f));  // 12 bytes
  EXPECT_FLOAT_EQ(features[access0 + 5], 1.0f);              // reuse 1
  EXPECT_FLOAT_EQ(features[access0 + 13], 2.0f);             // reuse 3 over the whole nest
}

// k (serial) { i (unrolled, 4) { j (vectorized, 16) { C[i][j] += A[i][k] * ... } } }: the
// store's straight-line block is the 4 x 16 register tile, the load's 4 rows of A (invariant
// in j), 64 iterations; the serial k loop ends the block.
TEST(LoopNestFeaturesTest, StraightLineBlockFeaturesCountTheRegisterTile) {
  codegen::LoopNestSummary nest;
  const std::pair<int64_t, codegen::LoopKind> loops[] = {{256, codegen::LoopKind::kSerial},
                                                         {4, codegen::LoopKind::kUnrolled},
                                                         {16, codegen::LoopKind::kVectorized}};
  for (int i = 0; i < 3; ++i) {
    codegen::LoopSummary loop;
    loop.extent = loops[i].first;
    loop.kind = loops[i].second;
    loop.depth = i;
    nest.loops.push_back(loop);
  }
  codegen::AccessSummary store, load;
  store.is_store = true;
  store.loops = load.loops = {0, 1, 2};
  store.strides = {0, 64, 1};
  load.strides = {1, 256, 0};
  store.executions = load.executions = 256 * 4 * 16;
  nest.accesses = {store, load};
  const std::vector<float> features = LoopNestFeatures(nest);
  const int block = LoopNestFeatureCount() - 3;
  EXPECT_FLOAT_EQ(features[block], std::log2(1.0f + 64));     // accumulators
  EXPECT_FLOAT_EQ(features[block + 1], std::log2(1.0f + 4));  // rows of A
  EXPECT_FLOAT_EQ(features[block + 2], std::log2(1.0f + 64));
  // Vectorized j alone (i serial): the store's block is one vector.
  nest.loops[1].kind = codegen::LoopKind::kSerial;
  EXPECT_FLOAT_EQ(LoopNestFeatures(nest)[block], std::log2(1.0f + 16));
}

}  // namespace
}  // namespace fleettune::cost_model
