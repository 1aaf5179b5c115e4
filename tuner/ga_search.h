// A genetic search strategy over a template's knob space.
//
// Until `population` configs are measured it proposes uniformly random ones. Then each
// child of a round is bred from the measured configs: two parents by tournament selection
// (the fastest of `tournament` random picks among the `population` fastest measured
// configs, so the elite are always eligible), uniform crossover of their knobs, and a
// mutation of each knob with probability `mutation`. A child that is visited (measured or
// proposed before) or already in the round is bred again, up to a bound; random unvisited
// configs fill what breeding could not.
#ifndef FLEETTUNE_TUNER_GA_SEARCH_H_
#define FLEETTUNE_TUNER_GA_SEARCH_H_

#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "codegen/search_space.h"
#include "tuner/search.h"

namespace fleettune::tuner {

struct GaSearchOptions {
  int population = 16;    // the fastest measured configs parents are drawn from
  int tournament = 3;     // picks per tournament
  double mutation = 0.1;  // chance each knob of a child takes a random choice
  uint64_t seed = 0;
};

// Not thread-safe, like every Search; deterministic for a seed and sequence of calls. Never
// proposes a visited index; always terminates.
class GaSearch : public Search {
 public:
  // InvalidArgument naming the option when population or tournament is below 1 or mutation
  // is outside [0, 1], or when the space is empty.
  static absl::StatusOr<std::unique_ptr<GaSearch>> Create(const codegen::SearchSpace& space,
                                                          GaSearchOptions options);

  std::vector<uint64_t> Propose(int count) override;
  void MarkVisited(uint64_t index) override { visited_.insert(index); }
  void Observe(uint64_t index, double gflops) override;

 private:
  GaSearch(const codegen::SearchSpace& space, GaSearchOptions options);

  // An index of the elite chosen by tournament.
  uint64_t Tournament(const std::vector<std::pair<double, uint64_t>>& elite);
  uint64_t Breed(uint64_t mother, uint64_t father);
  bool RandomUnvisited(const absl::flat_hash_set<uint64_t>& taken, uint64_t& index);

  const GaSearchOptions options_;
  const codegen::SearchSpace space_;
  const uint64_t size_;
  std::mt19937_64 rng_;
  absl::flat_hash_set<uint64_t> visited_;
  std::vector<std::pair<double, uint64_t>> observed_;  // (gflops, index)
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_GA_SEARCH_H_
