// The model-guided search with transfer: other shapes' records as extra training rows,
// weighed by how well they rank the job's own measurements, and their best configs proposed
// first (warm start).
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "tests/tuner/toy_search.h"
#include "tuner/xgb_search.h"
#include "util/median.h"

namespace fleettune::tuner {
namespace {

using util::Median;
using toy::AddSourceGroup;
using toy::Drive;
using toy::kOptimum;
using toy::Throughput;
using toy::ToySpace;
using toy::TuningRun;

TEST(XgbSearchTest, TransferFromAnotherShapeNeedsFewerTrials) {
  codegen::SearchSpace space = ToySpace();
  // "Another shape": the same landscape at half the speed, fully measured on 300 configs.
  TransferData transfer;
  std::mt19937_64 rng(99);
  AddSourceGroup(transfer, space, rng, [](const v1::Config& c) { return Throughput(c) / 2; });
  std::vector<double> cold, warm;
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    XgbSearchOptions options;
    options.seed = seed;
    auto cold_search = *XgbSearch::Create(space, options);
    auto warm_search = *XgbSearch::Create(space, options);
    EXPECT_EQ(warm_search->SetTransferData(transfer), 300);
    const TuningRun cold_run = Drive(*cold_search, space, 96);
    const TuningRun warm_run = Drive(*warm_search, space, 96);
    cold.push_back(cold_run.trials_to_95 < 0 ? 97 : cold_run.trials_to_95);
    warm.push_back(warm_run.trials_to_95 < 0 ? 97 : warm_run.trials_to_95);
  }
  std::cout << "trials to 95%: cold " << Median(cold) << ", with transfer " << Median(warm) << "\n";
  EXPECT_LE(Median(warm), Median(cold) / 2);
}

TEST(XgbSearchTest, SourcesAreWeighedByHowWellTheyRankTheJobsOwnMeasurements) {
  codegen::SearchSpace space = ToySpace();
  // Two other "shapes": the same landscape at half the speed, and its mirror image (fastest
  // where this one is slowest): a shape that teaches the wrong order.
  TransferData transfer;
  std::mt19937_64 rng(7);
  AddSourceGroup(transfer, space, rng, [](const v1::Config& c) { return Throughput(c) / 2; });
  AddSourceGroup(transfer, space, rng, [](const v1::Config& c) { return 101 - Throughput(c); });
  XgbSearchOptions options;
  options.seed = 4;
  auto search = *XgbSearch::Create(space, options);
  ASSERT_EQ(search->SetTransferData(transfer), 600);
  EXPECT_EQ(search->source_weights(), (std::vector<float>{1, 1}));
  Drive(*search, space, 24);
  ASSERT_EQ(search->source_weights().size(), 2u);
  EXPECT_GT(search->source_weights()[0], 0.5f);
  EXPECT_EQ(search->source_weights()[1], XgbSearch::kMinSourceWeight);

  // Only the misleading shape: with relevance, transfer costs at most a round over cold;
  // without it, the search follows the mirror image.
  TransferData misleading = transfer;
  misleading.rows.resize(300);
  misleading.throughput.resize(300);
  std::copy(transfer.rows.begin() + 300, transfer.rows.end(), misleading.rows.begin());
  std::copy(transfer.throughput.begin() + 300, transfer.throughput.end(),
            misleading.throughput.begin());
  misleading.group_sizes = {300};
  std::vector<double> cold, weighed, unweighed;
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    XgbSearchOptions run_options;
    run_options.seed = seed;
    auto cold_search = *XgbSearch::Create(space, run_options);
    auto weighed_search = *XgbSearch::Create(space, run_options);
    weighed_search->SetTransferData(misleading);
    run_options.source_relevance = false;
    auto unweighed_search = *XgbSearch::Create(space, run_options);
    unweighed_search->SetTransferData(misleading);
    for (auto [run_search, trials] :
         {std::pair{cold_search.get(), &cold}, std::pair{weighed_search.get(), &weighed},
          std::pair{unweighed_search.get(), &unweighed}}) {
      const TuningRun run = Drive(*run_search, space, 160);
      trials->push_back(run.trials_to_95 < 0 ? 161 : run.trials_to_95);
    }
  }
  std::cout << "trials to 95% with a misleading source: cold " << Median(cold) << ", weighed "
            << Median(weighed) << ", unweighed " << Median(unweighed) << "\n";
  EXPECT_LE(Median(weighed), Median(cold) + 8);
  EXPECT_LT(Median(weighed), Median(unweighed));
}

TEST(XgbSearchTest, WarmStartProposesTheSourcesBestConfigsFirst) {
  codegen::SearchSpace space = ToySpace();
  // Configs by knob values (a, b, c, d); a value that is not a power of two is no choice of
  // this space.
  const auto config = [&](std::vector<int64_t> values) {
    v1::Config result = space.DefaultConfig();
    for (size_t k = 0; k < values.size(); ++k) result.mutable_knobs(k)->set_value(values[k]);
    return result;
  };
  const auto index_of = [&](std::vector<int64_t> values) { return *space.IndexOf(config(values)); };
  TransferData transfer;
  const auto add = [&](std::vector<int64_t> values, float gflops) {
    transfer.rows.push_back(cost_model::KnobFeatures(config(values)));
    transfer.throughput.push_back(gflops);
    transfer.configs.push_back(config(values));
  };
  // Source A (3 rows): best {32,4,64,8}, then {16,4,64,8}; a failed config is never a seed.
  add({16, 4, 64, 8}, 50);
  add({32, 4, 64, 8}, 90);
  add({2, 2, 2, 2}, 0);
  // Source B (4 rows): best {3,...} is not a choice of this space; then {32,4,64,8} again (one
  // seed only), then {8,8,8,8}, then the default (visited first, so skipped).
  add({3, 4, 64, 8}, 9);
  add({32, 4, 64, 8}, 7);
  add({8, 8, 8, 8}, 5);
  add({1, 1, 1, 1}, 1);
  transfer.group_sizes = {3, 4};

  XgbSearchOptions options;
  options.seed = 3;
  auto search = *XgbSearch::Create(space, options);
  ASSERT_EQ(search->feature_count(), transfer.rows[0].size());
  ASSERT_EQ(search->SetTransferData(transfer), 7);
  // B has more rows, so it leads each turn: B's best valid, A's best (a duplicate of B's),
  // B's next, A's next, B's last.
  EXPECT_EQ(search->seeds(),
            (std::vector<uint64_t>{index_of({32, 4, 64, 8}), index_of({8, 8, 8, 8}),
                                   index_of({16, 4, 64, 8}), index_of({1, 1, 1, 1})}));
  const uint64_t default_index = *space.IndexOf(space.DefaultConfig());
  ASSERT_EQ(default_index, index_of({1, 1, 1, 1}));
  // Round 1: the default, then three seeds (half of 8 is 4, and only three are unvisited),
  // then model picks, none of them a repeat.
  const std::vector<uint64_t> first = search->Propose(8);
  ASSERT_EQ(first.size(), 8u);
  EXPECT_EQ(std::vector<uint64_t>(first.begin(), first.begin() + 4),
            (std::vector<uint64_t>{default_index, index_of({32, 4, 64, 8}), index_of({8, 8, 8, 8}),
                                   index_of({16, 4, 64, 8})}));
  EXPECT_EQ(std::set<uint64_t>(first.begin(), first.end()).size(), 8u);
  std::set<uint64_t> all(first.begin(), first.end());
  for (uint64_t index : first) search->Observe(index, Throughput(space.ConfigAt(index)));
  const std::vector<uint64_t> second = search->Propose(8);
  for (uint64_t index : second) EXPECT_TRUE(all.insert(index).second) << "repeat " << index;

  // A cap of 1 seed, rounds of 1: the default, then one seed, then the model.
  options.transfer_seeds = 1;
  auto capped = *XgbSearch::Create(space, options);
  capped->SetTransferData(transfer);
  EXPECT_EQ(capped->Propose(1), (std::vector<uint64_t>{default_index}));
  EXPECT_EQ(capped->Propose(1), (std::vector<uint64_t>{index_of({32, 4, 64, 8})}));
  EXPECT_NE(capped->Propose(1), (std::vector<uint64_t>{index_of({8, 8, 8, 8})}));

  // Off, or without configs: no seeds.
  options.transfer_seeds = 0;
  auto off = *XgbSearch::Create(space, options);
  off->SetTransferData(transfer);
  const std::vector<uint64_t> unseeded = off->Propose(8);
  EXPECT_EQ(std::count(unseeded.begin(), unseeded.end(), index_of({8, 8, 8, 8})) +
                std::count(unseeded.begin(), unseeded.end(), index_of({16, 4, 64, 8})),
            0);
  TransferData no_configs = transfer;
  no_configs.configs.clear();
  auto plain = *XgbSearch::Create(space, {});
  plain->SetTransferData(no_configs);
  EXPECT_TRUE(plain->seeds().empty());

  // Seeds outside the candidates are never proposed.
  XgbSearchOptions restricted;
  restricted.candidates = {index_of({16, 4, 64, 8}), index_of({1, 2, 4, 8}),
                           index_of({2, 2, 2, 2})};
  auto within = *XgbSearch::Create(space, restricted);
  within->SetTransferData(transfer);
  EXPECT_EQ(within->seeds(), (std::vector<uint64_t>{index_of({16, 4, 64, 8})}));
}

TEST(XgbSearchTest, TransferRowsOfTheWrongLengthAreDropped) {
  codegen::SearchSpace space = ToySpace();
  auto search = *XgbSearch::Create(space, {});
  TransferData transfer;
  transfer.rows = {{1, 2, 3}, search->FeaturesAt(5), {}};
  transfer.throughput = {1, 2, 3};
  transfer.group_sizes = {2, 1};
  EXPECT_EQ(search->SetTransferData(transfer), 1);
  EXPECT_EQ(search->Propose(4).size(), 4u);
  EXPECT_EQ(search->model_guided_rounds(), 1);
}

}  // namespace
}  // namespace fleettune::tuner
