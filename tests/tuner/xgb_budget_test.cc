// XgbSearch honouring a planning budget (Search::set_planning_budget). Work is counted in
// featurised configs rather than timed, so that a slow or busy machine cannot fail the tests.
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "cost_model/features.h"
#include "gtest/gtest.h"
#include "tests/tuner/toy_search.h"
#include "tuner/xgb_search.h"

namespace fleettune::tuner {
namespace {

// A feature function that counts its calls and takes `delay` each, as ConfigFeatures takes
// about a millisecond to lower a loop nest.
struct SlowFeatures {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::chrono::microseconds delay{0};

  FeatureFunction Function() const {
    return [calls = calls, delay = delay](const v1::Config& config) {
      ++*calls;
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      return cost_model::KnobFeatures(config);
    };
  }
};

// A search over the toy space (4096 configs: annealing plans it) with `features`, driven
// through its random rounds until the next Propose fits a model and plans with it.
std::unique_ptr<XgbSearch> SearchReadyToPlan(const codegen::SearchSpace& space,
                                             const SlowFeatures& features) {
  XgbSearchOptions options;
  options.seed = 5;
  options.features = features.Function();
  std::unique_ptr<XgbSearch> search = *XgbSearch::Create(space, options);
  while (search->observations() < options.min_observations) {
    for (uint64_t index : search->Propose(8)) {
      search->Observe(index, toy::Throughput(space.ConfigAt(index)));
    }
  }
  return search;
}

// Featurisations (and seconds) one guided Propose(8) takes under `budget_seconds`.
struct ProposeWork {
  int featurised = 0;
  double seconds = 0;
};
ProposeWork GuidedPropose(double budget_seconds, std::chrono::microseconds delay) {
  const codegen::SearchSpace space = toy::ToySpace();
  SlowFeatures features;
  features.delay = delay;
  std::unique_ptr<XgbSearch> search = SearchReadyToPlan(space, features);
  search->set_planning_budget(budget_seconds);
  const int before = *features.calls;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<uint64_t> picks = search->Propose(8);
  ProposeWork work;
  work.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  work.featurised = *features.calls - before;
  // Bounded or not, a full round of configs never measured before.
  EXPECT_EQ(picks.size(), 8u);
  EXPECT_EQ(absl::flat_hash_set<uint64_t>(picks.begin(), picks.end()).size(), picks.size());
  EXPECT_EQ(search->model_guided_rounds(), 1);
  return work;
}

TEST(XgbSearchBudgetTest, DoesTheFullWorkWithoutABudget) {
  // 0 and negative budgets are unbounded: the 32 chains' 100 steps meet thousands of configs.
  for (double unbounded : {0.0, -1.0}) {
    EXPECT_GT(GuidedPropose(unbounded, std::chrono::microseconds(0)).featurised, 1000)
        << "budget " << unbounded;
  }
}

TEST(XgbSearchBudgetTest, StopsPlanningWhenTheBudgetIsSpent) {
  // 1 ms a config and 0.05 s: about 50 configs, plus what cannot be cut short (the 8 new
  // observations' rows for the fit, a batch of neighbours, the chains' starting points and
  // their first step: 8 + 3 * 32).
  constexpr double kBudget = 0.05;
  const ProposeWork work = GuidedPropose(kBudget, std::chrono::milliseconds(1));
  EXPECT_LT(work.featurised, 250);
  EXPECT_GT(work.featurised, 0);
  // Generous: each featurisation sleeps at least 1 ms, so the count above bounds the time
  // on an idle machine; a busy one stretches the sleeps.
  EXPECT_LT(work.seconds, 40 * kBudget);
}

}  // namespace
}  // namespace fleettune::tuner
