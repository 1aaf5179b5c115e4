#include "tuner/ga_search.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace fleettune::tuner {
namespace {

// Breeding attempts per slot before a random config fills it.
constexpr int kBreedAttempts = 32;

}  // namespace

absl::StatusOr<std::unique_ptr<GaSearch>> GaSearch::Create(const codegen::SearchSpace& space,
                                                           GaSearchOptions options) {
  if (space.size() == 0) return absl::InvalidArgumentError("the search space is empty");
  if (options.population < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("GaSearchOptions.population is ", options.population, "; must be >= 1"));
  }
  if (options.tournament < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("GaSearchOptions.tournament is ", options.tournament, "; must be >= 1"));
  }
  if (!(options.mutation >= 0 && options.mutation <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("GaSearchOptions.mutation is ", options.mutation, "; must be in [0, 1]"));
  }
  return std::unique_ptr<GaSearch>(new GaSearch(space, options));
}

GaSearch::GaSearch(const codegen::SearchSpace& space, GaSearchOptions options)
    : options_(options), space_(space), size_(space.size()), rng_(options.seed) {}

void GaSearch::Observe(uint64_t index, double gflops) {
  if (index >= size_) return;
  visited_.insert(index);
  observed_.emplace_back(std::isfinite(gflops) && gflops > 0 ? gflops : 0.0, index);
}

uint64_t GaSearch::Tournament(const std::vector<std::pair<double, uint64_t>>& elite) {
  std::uniform_int_distribution<size_t> pick(0, elite.size() - 1);
  size_t winner = pick(rng_);
  for (int i = 1; i < options_.tournament; ++i) winner = std::min(winner, pick(rng_));
  return elite[winner].second;  // elite is sorted fastest first
}

uint64_t GaSearch::Breed(uint64_t mother, uint64_t father) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  uint64_t child = 0;  // knobs not yet inherited stay at choice 0
  for (size_t k = 0; k < space_.knobs().size(); ++k) {
    uint64_t choice = space_.ChoiceAt(uniform(rng_) < 0.5 ? mother : father, k);
    if (uniform(rng_) < options_.mutation) {
      choice = std::uniform_int_distribution<uint64_t>(0, space_.choice_count(k) - 1)(rng_);
    }
    child = space_.WithChoice(child, k, choice);
  }
  return child;
}

bool GaSearch::RandomUnvisited(const absl::flat_hash_set<uint64_t>& taken, uint64_t& index) {
  std::uniform_int_distribution<uint64_t> pick(0, size_ - 1);
  for (int attempt = 0; attempt < 64; ++attempt) {
    index = pick(rng_);
    if (!visited_.contains(index) && !taken.contains(index)) return true;
  }
  for (uint64_t i = 0; i < size_; ++i) {
    if (!visited_.contains(i) && !taken.contains(i)) {
      index = i;
      return true;
    }
  }
  return false;
}

std::vector<uint64_t> GaSearch::Propose(int count) {
  std::vector<uint64_t> picks;
  if (count <= 0 || visited_.size() >= size_) return picks;
  absl::flat_hash_set<uint64_t> taken;
  std::vector<std::pair<double, uint64_t>> elite;
  for (const auto& entry : observed_) {
    if (entry.first > 0) elite.push_back(entry);
  }
  if (static_cast<int>(observed_.size()) >= options_.population && !elite.empty()) {
    // Fastest first; ties by index so the order does not depend on arrival.
    std::sort(elite.begin(), elite.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    if (static_cast<int>(elite.size()) > options_.population) elite.resize(options_.population);
    for (int slot = 0; slot < count; ++slot) {
      for (int attempt = 0; attempt < kBreedAttempts; ++attempt) {
        const uint64_t child = Breed(Tournament(elite), Tournament(elite));
        if (!visited_.contains(child) && taken.insert(child).second) {
          picks.push_back(child);
          break;
        }
      }
    }
  }
  uint64_t index;
  while (static_cast<int>(picks.size()) < count && RandomUnvisited(taken, index)) {
    taken.insert(index);
    picks.push_back(index);
  }
  for (uint64_t pick : picks) visited_.insert(pick);
  return picks;
}

}  // namespace fleettune::tuner
