// An op template's knob space: the choices a tuner searches over.
#ifndef FLEETTUNE_CODEGEN_SEARCH_SPACE_H_
#define FLEETTUNE_CODEGEN_SEARCH_SPACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// One knob and the values it may take, e.g. tile_m in {1,2,4,...}, order in {0..5}.
struct Knob {
  std::string name;
  std::vector<int64_t> choices;
  std::string help;
};

// The cross product of a template's knobs. Immutable; thread-safe.
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

 private:
  std::string template_name_;
  std::vector<Knob> knobs_;
  v1::Config default_config_;
};

// The search space of the op's template for this workload and target. InvalidArgument for
// an op without a template.
absl::StatusOr<SearchSpace> SearchSpaceFor(const v1::Workload& workload, const v1::Target& target);

// The search space of the op's template named `template_name`: the primary one or an older
// one kept so its tuning records still build (matmul: "matmul_blocked", "matmul").
// InvalidArgument when the op has no template of that name.
absl::StatusOr<SearchSpace> SearchSpaceFor(const v1::Workload& workload, const v1::Target& target,
                                           const std::string& template_name);

// `tile_m=32,tile_n=64,...` — knobs in declared order. Stable; used in logs and the CLI.
std::string ConfigToString(const v1::Config& config);

// A stable 64-bit hash of (template, knob names and values), for dedup in the database.
uint64_t ConfigHash(const v1::Config& config);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_SEARCH_SPACE_H_
