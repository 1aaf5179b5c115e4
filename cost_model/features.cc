#include "cost_model/features.h"

#include <cmath>

namespace fleettune::cost_model {

std::vector<float> KnobFeatures(const v1::Config& config) {
  std::vector<float> features;
  features.reserve(2 * static_cast<size_t>(config.knobs_size()));
  for (const v1::Config::Knob& knob : config.knobs()) {
    const double value = static_cast<double>(knob.value());
    features.push_back(static_cast<float>(value));
    features.push_back(value > 0 ? static_cast<float>(std::log2(value)) : 0.0f);
  }
  return features;
}

std::vector<std::string> KnobFeatureNames(const v1::Config& config) {
  std::vector<std::string> names;
  names.reserve(2 * static_cast<size_t>(config.knobs_size()));
  for (const v1::Config::Knob& knob : config.knobs()) {
    names.push_back(knob.name());
    names.push_back("log2(" + knob.name() + ")");
  }
  return names;
}

}  // namespace fleettune::cost_model
