// The annealing planner (tuner/annealing.h) with a known score in place of a model.
#include "tuner/annealing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "gtest/gtest.h"
#include "tests/tuner/toy_search.h"

namespace fleettune::tuner {
namespace {

// 3 knobs of 8 choices each: 512 configs.
codegen::SearchSpace ToySpace() { return toy::KnobSpace(3, 8, toy::ToyChoices::kCounting); }

// Highest (0) at choices (5, 2, 6), lower the further a config is from there.
float ToyScore(const codegen::SearchSpace& space, uint64_t index) {
  const uint64_t best[] = {5, 2, 6};
  const std::vector<uint64_t> choices = space.ChoicesAt(index);
  float score = 0;
  for (size_t k = 0; k < choices.size(); ++k) {
    score -= std::abs(static_cast<float>(choices[k]) - static_cast<float>(best[k]));
  }
  return score;
}

// Scores with ToyScore and remembers every index it was asked about.
struct RecordingScorer {
  const codegen::SearchSpace& space;
  std::vector<uint64_t> asked;
  bool Score(const std::vector<uint64_t>& indices, std::vector<float>& scores) {
    scores.clear();
    for (uint64_t index : indices) {
      asked.push_back(index);
      scores.push_back(ToyScore(space, index));
    }
    return true;
  }
  BatchScorer Function() {
    return [this](const std::vector<uint64_t>& indices, std::vector<float>& scores) {
      return Score(indices, scores);
    };
  }
};

TEST(AnnealingTest, ChainsClimbToTheOptimumScoringEachConfigOnce) {
  const codegen::SearchSpace space = ToySpace();
  const CandidatePool pool(space.size(), {});
  RecordingScorer scorer{space, {}};
  std::mt19937_64 rng(3);
  AnnealingOptions options;
  options.chains = 8;
  options.steps = 40;
  const uint64_t start = 7;  // choices (0, 0, 7)
  std::optional<absl::flat_hash_map<uint64_t, float>> met =
      Anneal(space, pool, options, {start}, scorer.Function(), rng);
  ASSERT_TRUE(met.has_value());
  // The measured start is among the configs met; every score is the scorer's; each config
  // was scored once; and the chains reached the optimum, 5 * 64 + 2 * 8 + 6.
  EXPECT_TRUE(met->contains(start));
  for (const auto& [index, score] : *met) EXPECT_EQ(score, ToyScore(space, index)) << index;
  EXPECT_EQ(std::set<uint64_t>(scorer.asked.begin(), scorer.asked.end()).size(),
            scorer.asked.size());
  EXPECT_EQ(scorer.asked.size(), met->size());
  EXPECT_TRUE(met->contains(5 * 64 + 2 * 8 + 6));

  // The same generator state gives the same configs and leaves the same state.
  std::mt19937_64 again(3);
  RecordingScorer second{space, {}};
  EXPECT_EQ(Anneal(space, pool, options, {start}, second.Function(), again), met);
  EXPECT_EQ(again, rng);
}

TEST(AnnealingTest, NeverScoresOrEntersConfigsOutsideThePool) {
  const codegen::SearchSpace space = ToySpace();
  std::vector<uint64_t> even;
  for (uint64_t index = 0; index < space.size(); index += 2) even.push_back(index);
  const CandidatePool pool(space.size(), even);
  RecordingScorer scorer{space, {}};
  std::mt19937_64 rng(5);
  AnnealingOptions options;
  options.chains = 8;
  options.steps = 30;
  // An odd measured config is not a candidate: no chain starts there.
  std::optional<absl::flat_hash_map<uint64_t, float>> met =
      Anneal(space, pool, options, {7, 6}, scorer.Function(), rng);
  ASSERT_TRUE(met.has_value());
  for (uint64_t index : scorer.asked) EXPECT_EQ(index % 2, 0u) << index;
  bool any_outside = false;
  for (const auto& [index, score] : *met) {
    if (index % 2 == 1) {
      any_outside = true;
      EXPECT_EQ(score, -std::numeric_limits<float>::infinity()) << index;
    }
  }
  EXPECT_TRUE(any_outside);  // chains tried to leave (changing c by one is odd) and did not
  EXPECT_FALSE(met->contains(7));
  EXPECT_TRUE(met->contains(6));
}

TEST(AnnealingTest, ProgressEndsTheChainsEarlyButAfterOneStep) {
  const codegen::SearchSpace space = ToySpace();
  const CandidatePool pool(space.size(), {});
  AnnealingOptions options;
  options.chains = 8;
  options.steps = 100;
  struct Case {
    double per_call;  // the progress reported grows by this much per question
    int batches;      // the starting points' batch and one per step
  };
  for (const Case& c : {Case{0.1, 1 + 10}, Case{5.0, 1 + 1}, Case{0.0, 1 + 100}}) {
    std::vector<uint64_t> first_met;
    for (int run = 0; run < 2; ++run) {
      int questions = 0;
      options.progress = [&] { return ++questions * c.per_call; };
      int batches = 0;
      std::mt19937_64 rng(11);
      std::optional<absl::flat_hash_map<uint64_t, float>> met = Anneal(
          space, pool, options, {7},
          [&](const std::vector<uint64_t>& indices, std::vector<float>& scores) {
            ++batches;
            scores.clear();
            for (uint64_t index : indices) scores.push_back(ToyScore(space, index));
            return true;
          },
          rng);
      ASSERT_TRUE(met.has_value());
      EXPECT_EQ(batches, c.batches) << "progress per call " << c.per_call;
      std::vector<uint64_t> indices;
      for (const auto& [index, score] : *met) indices.push_back(index);
      std::sort(indices.begin(), indices.end());
      // The same progress answers give the same configs.
      if (run == 0) first_met = indices;
      EXPECT_EQ(indices, first_met) << "progress per call " << c.per_call;
    }
  }
}

TEST(AnnealingTest, AFailingScorerFailsThePlan) {
  const codegen::SearchSpace space = ToySpace();
  std::mt19937_64 rng(1);
  int calls = 0;
  EXPECT_FALSE(Anneal(
                   space, CandidatePool(space.size(), {}), AnnealingOptions(), {},
                   [&](const std::vector<uint64_t>&, std::vector<float>&) {
                     ++calls;
                     return false;
                   },
                   rng)
                   .has_value());
  EXPECT_EQ(calls, 1);  // no step after the starting points failed
}

}  // namespace
}  // namespace fleettune::tuner
