// The toy search problems the tuner's tests share: a knob space whose configs are named by
// their values, and (for the model-guided search) a smooth throughput with one optimum, a
// driver that measures every proposal, and other shapes' records for transfer.
#ifndef FLEETTUNE_TESTS_TUNER_TOY_SEARCH_H_
#define FLEETTUNE_TESTS_TUNER_TOY_SEARCH_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codegen/search_space.h"
#include "cost_model/features.h"
#include "tuner/search.h"
#include "tuner/transfer.h"

namespace fleettune::tuner::toy {

// Knobs 'a', 'b', ... of `choices` choices each, named by their values: 0, 1, 2, ... or,
// with kPowersOfTwo, 1, 2, 4, ...; the default config takes each knob's first choice.
enum class ToyChoices { kCounting, kPowersOfTwo };
inline codegen::SearchSpace KnobSpace(int knobs, int choices, ToyChoices values) {
  v1::Config default_config;
  default_config.set_template_name("toy");
  std::vector<codegen::Knob> space_knobs;
  for (int k = 0; k < knobs; ++k) {
    codegen::Knob knob{std::string(1, static_cast<char>('a' + k)), {}, ""};
    for (int c = 0; c < choices; ++c) {
      knob.choices.push_back(values == ToyChoices::kPowersOfTwo ? int64_t{1} << c : c);
    }
    v1::Config::Knob* entry = default_config.add_knobs();
    entry->set_name(knob.name);
    entry->set_value(knob.choices.front());
    space_knobs.push_back(std::move(knob));
  }
  return codegen::SearchSpace("toy", std::move(space_knobs), default_config);
}

// The model-guided search's space: knobs of power-of-two choices, by default 4 of 8 (4096
// configs).
inline codegen::SearchSpace ToySpace(int knobs = 4, int choices = 8) {
  return KnobSpace(knobs, choices, ToyChoices::kPowersOfTwo);
}

// A smooth throughput with one optimum, 100 GFLOPS at log2(a, b, c, d) = (5, 2, 6, 3). Only
// the optimum itself is within 95% of it: one knob off by one gives 88%.
constexpr double kOptimum = 100.0;
inline double Throughput(const v1::Config& config) {
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
inline TuningRun Drive(Search& search, const codegen::SearchSpace& space, int trials) {
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

}  // namespace fleettune::tuner::toy

#endif  // FLEETTUNE_TESTS_TUNER_TOY_SEARCH_H_
