#include "tuner/xgb_search.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <set>

#include "cost_model/features.h"
#include "gtest/gtest.h"
#include "util/median.h"

namespace fleettune::tuner {
namespace {

using util::Median;

// 4 knobs of 8 power-of-two choices each: 4096 configs.
codegen::SearchSpace ToySpace(int knobs = 4, int choices = 8) {
  v1::Config default_config;
  default_config.set_template_name("toy");
  std::vector<codegen::Knob> space_knobs;
  for (int k = 0; k < knobs; ++k) {
    codegen::Knob knob{std::string(1, static_cast<char>('a' + k)), {}, ""};
    for (int c = 0; c < choices; ++c) knob.choices.push_back(int64_t{1} << c);
    v1::Config::Knob* entry = default_config.add_knobs();
    entry->set_name(knob.name);
    entry->set_value(1);
    space_knobs.push_back(std::move(knob));
  }
  return codegen::SearchSpace("toy", std::move(space_knobs), default_config);
}

// A smooth throughput with one optimum, 100 GFLOPS at log2(a, b, c, d) = (5, 2, 6, 3). Only
// the optimum itself is within 95% of it: one knob off by one gives 88%.
constexpr double kOptimum = 100.0;
double Throughput(const v1::Config& config) {
  const int best[] = {5, 2, 6, 3};
  double distance = 0;
  for (int k = 0; k < config.knobs_size(); ++k) {
    const double off = std::log2(static_cast<double>(config.knobs(k).value())) - best[k];
    distance += off * off;
  }
  return kOptimum * std::exp(-distance / 8.0);
}

struct TuningRun {
  std::vector<uint64_t> proposed;
  double best = 0;
  int trials_to_95 = -1;  // -1: never reached
};

// Drives `search` like the tuning loop: batches of 8, every proposal measured.
TuningRun Drive(Search& search, const codegen::SearchSpace& space, int trials) {
  TuningRun run;
  while (static_cast<int>(run.proposed.size()) < trials) {
    std::vector<uint64_t> batch = search.Propose(8);
    if (batch.empty()) break;
    for (uint64_t index : batch) {
      const double gflops = Throughput(space.ConfigAt(index));
      run.proposed.push_back(index);
      run.best = std::max(run.best, gflops);
      if (run.trials_to_95 < 0 && run.best >= 0.95 * kOptimum) {
        run.trials_to_95 = static_cast<int>(run.proposed.size());
      }
      search.Observe(index, gflops);
    }
  }
  return run;
}

// Appends one transfer group: 300 configs drawn with `rng`, measured at `gflops(config)`, as
// another shape's records would be.
template <typename Gflops>
void AddSourceGroup(TransferData& transfer, const codegen::SearchSpace& space, std::mt19937_64& rng,
                    Gflops gflops) {
  constexpr int kRows = 300;
  std::uniform_int_distribution<uint64_t> pick(0, space.size() - 1);
  for (int i = 0; i < kRows; ++i) {
    const v1::Config config = space.ConfigAt(pick(rng));
    transfer.rows.push_back(cost_model::KnobFeatures(config));
    transfer.throughput.push_back(static_cast<float>(gflops(config)));
  }
  transfer.group_sizes.push_back(kRows);
}

TEST(XgbSearchTest, FeaturesMatchKnobFeaturesOfTheConfig) {
  codegen::SearchSpace space = ToySpace();
  auto search = *XgbSearch::Create(space, {});
  for (uint64_t index : {uint64_t{0}, uint64_t{1}, uint64_t{8}, uint64_t{777}, uint64_t{4095}}) {
    EXPECT_EQ(search->FeaturesAt(index), cost_model::KnobFeatures(space.ConfigAt(index)))
        << "index " << index;
  }
}

TEST(XgbSearchTest, FindsTheOptimumSoonerThanRandom) {
  codegen::SearchSpace space = ToySpace();
  constexpr int kTrials = 96;
  std::vector<double> xgb_best, random_best, xgb_trials, random_trials;
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    XgbSearchOptions options;
    options.seed = seed;
    auto xgb = *XgbSearch::Create(space, options);
    TuningRun xgb_run = Drive(*xgb, space, kTrials);
    EXPECT_GT(xgb->model_guided_rounds(), 0) << "seed " << seed;
    auto random = *MakeSearch("random", space, seed);
    TuningRun random_run = Drive(*random, space, kTrials);
    ASSERT_EQ(xgb_run.proposed.size(), static_cast<size_t>(kTrials));
    ASSERT_EQ(random_run.proposed.size(), static_cast<size_t>(kTrials));
    xgb_best.push_back(xgb_run.best);
    random_best.push_back(random_run.best);
    // A run that never got within 95% counts as one past the budget.
    xgb_trials.push_back(xgb_run.trials_to_95 < 0 ? kTrials + 1 : xgb_run.trials_to_95);
    random_trials.push_back(random_run.trials_to_95 < 0 ? kTrials + 1 : random_run.trials_to_95);
    std::cout << "seed " << seed << ": xgb best " << xgb_run.best << " (95% after "
              << xgb_run.trials_to_95 << "), random best " << random_run.best << " (95% after "
              << random_run.trials_to_95 << ")\n";
  }
  EXPECT_GT(Median(xgb_best), Median(random_best));
  EXPECT_GE(Median(xgb_best), 0.95 * kOptimum);
  EXPECT_LT(Median(xgb_trials), Median(random_trials));
}

TEST(XgbSearchTest, ScoringTheWholeSpaceAlsoFindsTheOptimumSoonerThanRandom) {
  codegen::SearchSpace space = ToySpace();
  constexpr int kTrials = 96;
  std::vector<double> xgb_trials, random_trials;
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    XgbSearchOptions options;
    options.seed = seed;
    options.exhaustive_limit = space.size();  // no annealing: every config scored each round
    auto xgb = *XgbSearch::Create(space, options);
    TuningRun xgb_run = Drive(*xgb, space, kTrials);
    auto random = *MakeSearch("random", space, seed);
    TuningRun random_run = Drive(*random, space, kTrials);
    xgb_trials.push_back(xgb_run.trials_to_95 < 0 ? kTrials + 1 : xgb_run.trials_to_95);
    random_trials.push_back(random_run.trials_to_95 < 0 ? kTrials + 1 : random_run.trials_to_95);
  }
  std::cout << "trials to 95%: xgb (scoring all) " << Median(xgb_trials) << ", random "
            << Median(random_trials) << "\n";
  EXPECT_LE(Median(xgb_trials), kTrials);  // found within the budget
  EXPECT_LT(Median(xgb_trials), Median(random_trials));
}

TEST(XgbSearchTest, TheFirstRoundStartsWithTheTemplateDefault) {
  codegen::SearchSpace space = ToySpace();
  const uint64_t default_index = *space.IndexOf(space.DefaultConfig());
  XgbSearchOptions options;
  options.seed = 5;
  auto search = *XgbSearch::Create(space, options);
  std::vector<uint64_t> first = search->Propose(8);
  ASSERT_EQ(first.size(), 8u);
  EXPECT_EQ(first[0], default_index);
  // Already measured (e.g. resumed): not proposed again.
  auto resumed = *XgbSearch::Create(space, options);
  resumed->MarkVisited(default_index);
  for (uint64_t index : resumed->Propose(8)) EXPECT_NE(index, default_index);
  // Switched off: the first round is the random one of the same seed, default or not.
  options.propose_default = false;
  auto plain = *XgbSearch::Create(space, options);
  EXPECT_NE(plain->Propose(8), first);
}

// Restricted to a third of the space: only those are proposed, each once, then nothing;
// both with every candidate scored and with annealing among them.
TEST(XgbSearchTest, ProposesOnlyTheCandidatesEachOnceThenStops) {
  codegen::SearchSpace space = ToySpace(3, 8);  // 512 configs
  for (uint64_t limit : {uint64_t{1024}, uint64_t{16}}) {
    XgbSearchOptions options;
    options.seed = 3;
    options.exhaustive_limit = limit;
    std::set<uint64_t> candidates;
    for (uint64_t i = 0; i < space.size(); i += 3) candidates.insert(i);
    options.candidates.assign(candidates.begin(), candidates.end());
    options.candidates.push_back(100000);  // outside the space: ignored
    auto search = *XgbSearch::Create(space, options);
    std::set<uint64_t> seen;
    for (int round = 0; round < 40; ++round) {
      for (uint64_t index : search->Propose(8)) {
        EXPECT_TRUE(candidates.count(index)) << "not a candidate: " << index << ", limit " << limit;
        EXPECT_TRUE(seen.insert(index).second) << "proposed twice: " << index;
        search->Observe(index, Throughput(space.ConfigAt(index)));
      }
    }
    EXPECT_EQ(seen, candidates) << "limit " << limit;
    EXPECT_GT(search->model_guided_rounds(), 0) << "limit " << limit;
    EXPECT_TRUE(search->Propose(8).empty());
  }
}

TEST(XgbSearchTest, ProposesEveryConfigExactlyOnceThenStops) {
  codegen::SearchSpace space = ToySpace(3, 4);  // 64 configs
  XgbSearchOptions options;
  options.seed = 9;
  auto search = *XgbSearch::Create(space, options);
  for (uint64_t i = 0; i < space.size(); i += 5) search->MarkVisited(i);
  std::set<uint64_t> seen;
  for (int round = 0; round < 20; ++round) {
    for (uint64_t index : search->Propose(7)) {
      EXPECT_LT(index, space.size());
      EXPECT_NE(index % 5, 0u) << "proposed a visited config: " << index;
      EXPECT_TRUE(seen.insert(index).second) << "proposed twice: " << index;
      search->Observe(index, Throughput(space.ConfigAt(index)));
    }
  }
  EXPECT_EQ(seen.size(), space.size() - 13);  // 0, 5, ..., 60 were visited
  EXPECT_GT(search->model_guided_rounds(), 0);
  EXPECT_TRUE(search->Propose(3).empty());
}

TEST(XgbSearchTest, NeverRepeatsOnALargerSpaceAndFailedConfigsAreFine) {
  codegen::SearchSpace space = ToySpace();
  auto search = *XgbSearch::Create(space, {});
  std::set<uint64_t> seen;
  for (int round = 0; round < 30; ++round) {
    for (uint64_t index : search->Propose(8)) {
      EXPECT_LT(index, space.size());
      EXPECT_TRUE(seen.insert(index).second) << "proposed twice: " << index;
      // Every other config fails; NaN and negative count as failed too.
      const double gflops = index % 2 == 0   ? Throughput(space.ConfigAt(index))
                            : index % 3 == 0 ? std::nan("")
                                             : -1.0;
      search->Observe(index, gflops);
    }
  }
  EXPECT_EQ(seen.size(), 240u);
}

TEST(XgbSearchTest, AllFailedStaysRandomAndTerminates) {
  codegen::SearchSpace space = ToySpace(2, 4);  // 16 configs
  auto search = *XgbSearch::Create(space, {});
  std::set<uint64_t> seen;
  for (int round = 0; round < 10; ++round) {
    for (uint64_t index : search->Propose(5)) {
      EXPECT_TRUE(seen.insert(index).second);
      search->Observe(index, 0.0);
    }
  }
  EXPECT_EQ(seen.size(), 16u);
  EXPECT_EQ(search->model_guided_rounds(), 0);
}

TEST(XgbSearchTest, IsReproducibleForASeed) {
  codegen::SearchSpace space = ToySpace();
  auto first = *MakeSearch("xgb", space, 11);
  auto second = *MakeSearch("xgb", space, 11);
  TuningRun a = Drive(*first, space, 64);
  TuningRun b = Drive(*second, space, 64);
  EXPECT_EQ(a.proposed, b.proposed);
  auto other = *MakeSearch("xgb", space, 12);
  EXPECT_NE(Drive(*other, space, 64).proposed, a.proposed);
}

TEST(XgbSearchTest, RejectsBadOptions) {
  codegen::SearchSpace space = ToySpace(2, 2);
  struct Case {
    XgbSearchOptions options;
    const char* named;
  };
  XgbSearchOptions chains, steps, minimum, epsilon, influence, candidates, depth, share, radius;
  share.local_share = 1.5;
  radius.local_radius = 0;
  chains.chains = 0;
  steps.steps = -1;
  minimum.min_observations = 0;
  epsilon.epsilon = 1.5;
  influence.own_influence = 0;
  XgbSearchOptions relevance;
  relevance.relevance_rows = 1;
  XgbSearchOptions seeds;
  seeds.transfer_seeds = -1;
  candidates.candidates = {4, 99};  // the space has 4 configs
  depth.model.max_depth = 0;
  for (const Case& c :
       {Case{chains, "chains"}, Case{steps, "steps"}, Case{minimum, "min_observations"},
        Case{epsilon, "epsilon"}, Case{influence, "own_influence"}, Case{candidates, "candidates"},
        Case{depth, "max_depth"}, Case{share, "local_share"}, Case{radius, "local_radius"},
        Case{relevance, "relevance_rows"}, Case{seeds, "transfer_seeds"}}) {
    absl::StatusOr<std::unique_ptr<XgbSearch>> search = XgbSearch::Create(space, c.options);
    ASSERT_FALSE(search.ok()) << c.named;
    EXPECT_EQ(search.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(search.status().message().find(c.named), std::string::npos)
        << search.status().message();
  }
}

// Knobs in which two configs of the space differ.
int KnobDistance(const codegen::SearchSpace& space, uint64_t a, uint64_t b) {
  const v1::Config x = space.ConfigAt(a), y = space.ConfigAt(b);
  int differ = 0;
  for (int k = 0; k < x.knobs_size(); ++k) differ += x.knobs(k).value() != y.knobs(k).value();
  return differ;
}

TEST(XgbSearchTest, LocalPicksAreNeighboursOfTheBestMeasuredConfig) {
  codegen::SearchSpace space = ToySpace();
  XgbSearchOptions options;
  options.seed = 5;
  options.epsilon = 0;
  options.local_share = 0.5;
  options.local_radius = 1;
  auto search = *XgbSearch::Create(space, options);
  std::vector<uint64_t> measured;
  for (int round = 0; round < 4; ++round) {
    // The best measured config before this round.
    uint64_t best = 0;
    double best_gflops = -1;
    for (uint64_t index : measured) {
      if (Throughput(space.ConfigAt(index)) > best_gflops) {
        best_gflops = Throughput(space.ConfigAt(index));
        best = index;
      }
    }
    std::vector<uint64_t> batch = search->Propose(8);
    ASSERT_EQ(batch.size(), 8u);
    if (round > 0) {
      // Half of the model-guided picks (the first four) are one knob from the best.
      for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(KnobDistance(space, batch[i], best), 1)
            << "round " << round << " pick " << i << ": " << batch[i] << " vs best " << best;
      }
    }
    for (uint64_t index : batch) {
      search->Observe(index, Throughput(space.ConfigAt(index)));
      measured.push_back(index);
    }
  }
}

TEST(XgbSearchTest, RefitsEveryRound) {
  codegen::SearchSpace space = ToySpace();
  XgbSearchOptions options;
  options.seed = 3;
  auto search = *XgbSearch::Create(space, options);
  TuningRun run = Drive(*search, space, 400);
  ASSERT_EQ(run.proposed.size(), 400u);
  // 50 rounds of 8: the first without a model, then one fit and one guided plan each.
  EXPECT_EQ(search->fits(), 49);
  EXPECT_EQ(search->model_guided_rounds(), 49);
}

TEST(XgbSearchTest, MakeSearchKnowsXgbAndStillNamesUnknownTuners) {
  codegen::SearchSpace space = ToySpace(2, 2);
  absl::StatusOr<std::unique_ptr<Search>> xgb = MakeSearch("xgb", space, 3);
  ASSERT_TRUE(xgb.ok()) << xgb.status();
  std::vector<uint64_t> all = (*xgb)->Propose(10);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<uint64_t>{0, 1, 2, 3}));
  absl::StatusOr<std::unique_ptr<Search>> unknown = MakeSearch("xgboost", space, 3);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'xgboost'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("xgb, ga, random, grid"), std::string::npos);
}

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

TEST(XgbSearchTest, FeatureFunctionsOfVaryingLengthNeverCrash) {
  codegen::SearchSpace space = ToySpace(3, 4);
  XgbSearchOptions options;
  options.seed = 4;
  // Every fifth config gets a short row: it is neither trained on nor proposed by the model.
  options.features = [](const v1::Config& config) {
    std::vector<float> row = cost_model::KnobFeatures(config);
    if (config.knobs(2).value() == 2) row.pop_back();
    return row;
  };
  auto search = *XgbSearch::Create(space, options);
  std::set<uint64_t> seen;
  for (int round = 0; round < 12; ++round) {
    for (uint64_t index : search->Propose(6)) {
      EXPECT_TRUE(seen.insert(index).second);
      search->Observe(index, Throughput(space.ConfigAt(index)));
    }
  }
  EXPECT_EQ(seen.size(), space.size());
  EXPECT_GT(search->model_guided_rounds(), 0);
}

TEST(XgbSearchTest, SavedModelGuidesANewSearchFromItsFirstRound) {
  codegen::SearchSpace space = ToySpace();
  const std::string path = ::testing::TempDir() + "/xgb_search_test.model";
  auto trained = *XgbSearch::Create(space, {});
  EXPECT_FALSE(trained->SaveModel(path).ok());  // nothing fitted yet
  Drive(*trained, space, 48);
  ASSERT_TRUE(trained->SaveModel(path).ok());
  auto fresh = *XgbSearch::Create(space, {});
  ASSERT_TRUE(fresh->LoadModel(path).ok());
  fresh->Propose(8);
  EXPECT_EQ(fresh->model_guided_rounds(), 1);
  // A model of another template's feature length is refused, naming the counts.
  auto other = *XgbSearch::Create(ToySpace(3, 8), {});
  absl::Status status = other->LoadModel(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("takes 8 features"), std::string::npos) << status;
  EXPECT_EQ(other->LoadModel(path + ".missing").code(), absl::StatusCode::kNotFound);
}

TEST(XgbSearchTest, RegressionObjectiveAlsoFindsTheOptimum) {
  codegen::SearchSpace space = ToySpace();
  XgbSearchOptions options;
  options.objective = "reg:squarederror";
  options.seed = 2;
  auto search = *XgbSearch::Create(space, options);
  EXPECT_GE(Drive(*search, space, 160).best, 0.95 * kOptimum);
  options.objective = "rank:ndcg";
  EXPECT_EQ(XgbSearch::Create(space, options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fleettune::tuner
