// Simulated annealing over a knob space scored by a cost model: how XgbSearch plans a round
// on a space too large to score whole (tuner/xgb_search.h).
//
// Parallel chains each change one knob per step (a random knob with more than one choice, set
// to a random other choice) and accept the move by the predicted score at a linearly cooling
// temperature: always when the score does not drop, else with probability
// exp(gain / temperature). The starting temperature is half the spread of the starting
// scores, since a ranking model's scores have no unit. A quarter of the chains start at the
// best measured configs, the rest at random candidates; a chain never moves to a config
// outside the candidates.
#ifndef FLEETTUNE_TUNER_ANNEALING_H_
#define FLEETTUNE_TUNER_ANNEALING_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "codegen/search_space.h"
#include "tuner/candidate_pool.h"

namespace fleettune::tuner {

struct AnnealingOptions {
  int chains = 32;  // parallel chains, at least 1
  int steps = 100;  // steps per chain, at least 1
  // Empty: the chains take `steps` steps. Otherwise the share of the chains' work budget
  // spent so far (e.g. elapsed / allowed seconds), asked after each step: the temperature
  // cools by the larger of it and step / steps, and the chains stop once either reaches 1,
  // so a budget that allows few steps still anneals (from hot to cold) rather than
  // random-walking. A clock-based one makes the result depend on the machine's speed.
  std::function<double()> progress;
};

// Scores `indices` (candidates, each once) into `scores`, one per index, -infinity for a
// config the model cannot score; false when the model fails.
using BatchScorer =
    std::function<bool(const std::vector<uint64_t>& indices, std::vector<float>& scores)>;

// Runs the chains over `space` restricted to `pool` (not empty). `best_measured`: measured
// configs, best first; the first chains/4 of them in the pool start chains. Returns the
// predicted score of every config a chain met, visited or not (-infinity for configs outside
// the pool or that the model cannot score), or nullopt when `score` failed. Draws from `rng`
// only, in a fixed order: the same inputs, generator state and progress answers give the same
// result and leave the generator in the same state. The start points are scored and at least
// one step taken whatever options.progress says. Not thread-safe on one `rng`.
std::optional<absl::flat_hash_map<uint64_t, float>> Anneal(
    const codegen::SearchSpace& space, const CandidatePool& pool, const AnnealingOptions& options,
    const std::vector<uint64_t>& best_measured, const BatchScorer& score, std::mt19937_64& rng);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_ANNEALING_H_
