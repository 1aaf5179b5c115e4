#include "tuner/xgb_search.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <set>

#include "cost_model/features.h"
#include "gtest/gtest.h"
#include "tests/tuner/toy_search.h"
#include "util/median.h"

namespace fleettune::tuner {
namespace {

using toy::AddSourceGroup;
using toy::Drive;
using toy::kOptimum;
using toy::Throughput;
using toy::ToySpace;
using toy::TuningRun;
using util::Median;

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

TEST(XgbSearchTest, RefitsOnlyWhenSomethingNewWasObserved) {
  codegen::SearchSpace space = ToySpace();
  XgbSearchOptions options;
  options.seed = 3;
  auto search = *XgbSearch::Create(space, options);
  Drive(*search, space, 16);  // a random round, then a fitted one
  ASSERT_EQ(search->fits(), 1);
  search->Propose(8);  // the second round's results arrived: refits
  EXPECT_EQ(search->fits(), 2);
  // Rounds proposed before their results come back (as a job overlapping builds and
  // measurement does) plan with the same model.
  search->Propose(8);
  search->MarkVisited(0);  // not an observation either
  search->Propose(8);
  EXPECT_EQ(search->fits(), 2);
  EXPECT_EQ(search->model_guided_rounds(), 4);
  search->Observe(1, 5.0);
  search->Propose(8);
  EXPECT_EQ(search->fits(), 3);
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
