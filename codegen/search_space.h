// An op template's knob space: the choices a tuner searches over.
#ifndef FLEETTUNE_CODEGEN_SEARCH_SPACE_H_
#define FLEETTUNE_CODEGEN_SEARCH_SPACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// One knob and the values it may take, e.g. tile_m in {1,2,4,...}, order in {0..5}.
struct Knob {
  std::string name;
  std::vector<int64_t> choices;
  std::string help;
};

// The cross product of a template's knobs. Immutable; thread-safe.
//
// A config is numbered in mixed radix, the last knob fastest: knob k's choice position
// (its place in `knobs()[k].choices`) counts stride(k) indices, and stride(k) is the product
// of the choice counts of the knobs after k. The knob-index methods below are the one place
// searches take configs apart and change one knob at a time; they work on indices alone,
// without building a v1::Config.
class SearchSpace {
 public:
  SearchSpace(std::string template_name, std::vector<Knob> knobs, v1::Config default_config);

  const std::string& template_name() const { return template_name_; }
  const std::vector<Knob>& knobs() const { return knobs_; }

  // Number of configs (product of the knobs' choice counts).
  uint64_t size() const;

  // The config at `index` in [0, size()), knobs varying fastest last (mixed radix).
  v1::Config ConfigAt(uint64_t index) const;

  // The index of `config`; InvalidArgument naming the knob if it has the wrong template,
  // a missing or unknown knob, or a value that is not one of the knob's choices.
  absl::StatusOr<uint64_t> IndexOf(const v1::Config& config) const;

  // The template's hand-picked default: what users get with no tuning record.
  const v1::Config& DefaultConfig() const { return default_config_; }

  // Knob-index arithmetic. `knob` must be below knobs().size() (checked only by the caller);
  // an index at or past size() wraps like ConfigAt.

  // Number of choices of `knob`.
  uint64_t choice_count(size_t knob) const { return knobs_[knob].choices.size(); }
  // How far apart two indices are that differ by one choice of `knob`.
  uint64_t stride(size_t knob) const { return strides_[knob]; }
  // The choice position of `knob` in the config at `index`.
  uint64_t ChoiceAt(uint64_t index, size_t knob) const {
    return (index / strides_[knob]) % choice_count(knob);
  }
  // Every knob's choice position in the config at `index`, in knob order.
  std::vector<uint64_t> ChoicesAt(uint64_t index) const;
  // The index of the config at `index` with `knob` set to choice position `choice` (below
  // choice_count(knob)) and every other knob unchanged.
  uint64_t WithChoice(uint64_t index, size_t knob, uint64_t choice) const {
    return index - ChoiceAt(index, knob) * strides_[knob] + choice * strides_[knob];
  }

 private:
  std::string template_name_;
  std::vector<Knob> knobs_;
  v1::Config default_config_;
  std::vector<uint64_t> strides_;  // stride(k) of each knob
};

// The search space of the op's template for this workload and target. InvalidArgument for
// an op without a template. Thread-safe.
absl::StatusOr<SearchSpace> SearchSpaceFor(const CheckedWorkload& workload,
                                           const CheckedTarget& target);

// The search space of the op's template named `template_name`: the primary one or an older
// one kept so its tuning records still build (matmul: "matmul_blocked", "matmul").
// InvalidArgument when the op has no template of that name. Thread-safe.
absl::StatusOr<SearchSpace> SearchSpaceFor(const CheckedWorkload& workload,
                                           const CheckedTarget& target,
                                           const std::string& template_name);

// For a caller holding messages it has not checked (tests, tools): CheckedWorkload::Check and
// CheckedTarget::Check first (their InvalidArgument), then as above.
absl::StatusOr<SearchSpace> SearchSpaceFor(const v1::Workload& workload, const v1::Target& target);
absl::StatusOr<SearchSpace> SearchSpaceFor(const v1::Workload& workload, const v1::Target& target,
                                           const std::string& template_name);

// `tile_m=32,tile_n=64,...` — knobs in declared order. Stable; used in logs and the CLI.
std::string ConfigToString(const v1::Config& config);

// A stable 64-bit hash of (template, knob names and values), for dedup in the database.
uint64_t ConfigHash(const v1::Config& config);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_SEARCH_SPACE_H_
