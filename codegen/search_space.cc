#include "codegen/search_space.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/internal/op_template.h"
#include "codegen/internal/with_checked.h"

namespace fleettune::codegen {

SearchSpace::SearchSpace(std::string template_name, std::vector<Knob> knobs,
                         v1::Config default_config)
    : template_name_(std::move(template_name)),
      knobs_(std::move(knobs)),
      default_config_(std::move(default_config)),
      strides_(knobs_.size()) {
  uint64_t stride = 1;
  for (size_t k = knobs_.size(); k-- > 0;) {
    strides_[k] = stride;
    stride *= knobs_[k].choices.size();
  }
}

uint64_t SearchSpace::size() const {
  uint64_t size = 1;
  for (const Knob& knob : knobs_) size *= knob.choices.size();
  return size;
}

v1::Config SearchSpace::ConfigAt(uint64_t index) const {
  v1::Config config;
  config.set_template_name(template_name_);
  for (size_t k = 0; k < knobs_.size(); ++k) {
    auto* knob = config.add_knobs();
    knob->set_name(knobs_[k].name);
    knob->set_value(knobs_[k].choices[ChoiceAt(index, k)]);
  }
  return config;
}

std::vector<uint64_t> SearchSpace::ChoicesAt(uint64_t index) const {
  std::vector<uint64_t> choices(knobs_.size());
  for (size_t k = 0; k < knobs_.size(); ++k) choices[k] = ChoiceAt(index, k);
  return choices;
}

absl::StatusOr<uint64_t> SearchSpace::IndexOf(const v1::Config& config) const {
  if (config.template_name() != template_name_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config is for template '", config.template_name(), "', expected '", template_name_, "'"));
  }
  std::map<std::string, int64_t> given;
  for (const auto& knob : config.knobs()) {
    if (!given.emplace(knob.name(), knob.value()).second) {
      return absl::InvalidArgumentError(absl::StrCat("knob '", knob.name(), "' given twice"));
    }
  }
  uint64_t index = 0;
  for (size_t k = 0; k < knobs_.size(); ++k) {
    const Knob& knob = knobs_[k];
    auto it = given.find(knob.name);
    if (it == given.end()) {
      return absl::InvalidArgumentError(absl::StrCat("missing knob '", knob.name, "'"));
    }
    auto choice = std::find(knob.choices.begin(), knob.choices.end(), it->second);
    if (choice == knob.choices.end()) {
      return absl::InvalidArgumentError(absl::StrCat("knob '", knob.name, "' = ", it->second,
                                                     " is not one of its choices {",
                                                     absl::StrJoin(knob.choices, ","), "}"));
    }
    index += static_cast<uint64_t>(choice - knob.choices.begin()) * strides_[k];
    given.erase(it);
  }
  if (!given.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown knob '", given.begin()->first,
                                                   "' for template '", template_name_, "'"));
  }
  return index;
}

absl::StatusOr<SearchSpace> SearchSpaceFor(const CheckedWorkload& workload,
                                           const CheckedTarget& target) {
  const OpTemplate* op_template = FindTemplate(workload.proto(), target.proto());
  if (op_template == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("op '", workload.op(),
                                                   "' has no schedule template",
                                                   target.is_opencl() ? " for opencl" : ""));
  }
  return op_template->Space(workload.proto(), target.proto());
}

absl::StatusOr<SearchSpace> SearchSpaceFor(const CheckedWorkload& workload,
                                           const CheckedTarget& target,
                                           const std::string& template_name) {
  const OpTemplate* op_template = FindTemplate(workload.op(), template_name);
  if (op_template == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("op '", workload.op(), "' has no template '", template_name, "'"));
  }
  return op_template->Space(workload.proto(), target.proto());
}

absl::StatusOr<SearchSpace> SearchSpaceFor(const v1::Workload& workload, const v1::Target& target) {
  return WithChecked(workload, target, [](const CheckedWorkload& w, const CheckedTarget& t) {
    return SearchSpaceFor(w, t);
  });
}

absl::StatusOr<SearchSpace> SearchSpaceFor(const v1::Workload& workload, const v1::Target& target,
                                           const std::string& template_name) {
  return WithChecked(workload, target, [&](const CheckedWorkload& w, const CheckedTarget& t) {
    return SearchSpaceFor(w, t, template_name);
  });
}

std::string ConfigToString(const v1::Config& config) {
  std::vector<std::string> parts;
  for (const auto& knob : config.knobs())
    parts.push_back(absl::StrCat(knob.name(), "=", knob.value()));
  return absl::StrJoin(parts, ",");
}

uint64_t ConfigHash(const v1::Config& config) {
  // FNV-1a, 64 bit, over "template\0name=value;name=value;..." with decimal values: the same
  // on every machine and in every run.
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  };
  mix(config.template_name());
  mix(std::string_view("\0", 1));
  for (const auto& knob : config.knobs()) {
    mix(absl::StrCat(knob.name(), "=", knob.value(), ";"));
  }
  return hash;
}

}  // namespace fleettune::codegen
