// Features of a config for the cost model.
//
// AutoTVM's "knob" feature: the knob values themselves. A later feature set adds the
// lowered loop nest; every set is a fixed-length float vector per template, so models take
// std::vector<float> rows whatever produced them.
#ifndef FLEETTUNE_COST_MODEL_FEATURES_H_
#define FLEETTUNE_COST_MODEL_FEATURES_H_

#include <string>
#include <vector>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::cost_model {

// Two features per knob, in the config's (declared) knob order: the value, then log2 of the
// value when it is positive and 0 otherwise. Split factors are powers of two, so the log is
// the quantity a tree splits on evenly. Length 2 * knobs_size(): fixed for a template.
// Thread-safe; never fails.
std::vector<float> KnobFeatures(const v1::Config& config);

// Names of KnobFeatures' entries: "tile_m", "log2(tile_m)", ... Same length and order.
std::vector<std::string> KnobFeatureNames(const v1::Config& config);

}  // namespace fleettune::cost_model

#endif  // FLEETTUNE_COST_MODEL_FEATURES_H_
