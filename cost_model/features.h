// Features of a config for the cost model.
//
// Two sets, both fixed-length float vectors for a template whatever the config, so a model
// takes std::vector<float> rows whatever produced them:
//  - KnobFeatures: AutoTVM's "knob" feature, the knob values themselves.
//  - ConfigFeatures: the lowered loop nest (codegen/loop_nest.h) followed by the knob
//    features. Layout, with every count, extent and byte size as log2(1 + x):
//      kLoopSlots loops in pre-order, each [extent, serial, parallel, vectorized, unrolled
//        (one-hot), depth, constant extent]; a nest with more loops keeps the first
//        kLoopSlots (the outer ones, which decide the schedule), one with fewer pads zeros.
//      kAccessSlots buffer accesses, the most executed first (ties: program order), each
//        [store, local scratch, executions, stride of the innermost loop (-1: not affine),
//         then for the innermost 1, 2, 3, 4 loops and the whole nest: touched bytes and
//         reuse (iterations per distinct element)]; padded with zeros likewise.
//      kGlobalFeatures: flops, vector lanes, bytes touched by the whole nest, arithmetic
//        intensity (flops per byte, log2), loops, parallel loops, parallel iterations,
//        largest unrolled extent, stack and heap scratch bytes, accesses, then over the
//        straight-line blocks (the innermost unrolled/vectorized loops around an access):
//        the most elements one store touches (a register tile's accumulators), the most one
//        load touches, and the most iterations.
//    Length LoopNestFeatureCount() + 2 * knobs.
#ifndef FLEETTUNE_COST_MODEL_FEATURES_H_
#define FLEETTUNE_COST_MODEL_FEATURES_H_

#include <string>
#include <vector>

#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/loop_nest.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::cost_model {

inline constexpr int kLoopSlots = 16;
inline constexpr int kFeaturesPerLoop = 7;
inline constexpr int kAccessSlots = 8;
inline constexpr int kFeaturesPerAccess = 14;
inline constexpr int kGlobalFeatures = 14;

// Length of LoopNestFeatures' vector: the same for every nest.
constexpr int LoopNestFeatureCount() {
  return kLoopSlots * kFeaturesPerLoop + kAccessSlots * kFeaturesPerAccess + kGlobalFeatures;
}

// Two features per knob, in the config's (declared) knob order: the value, then log2 of the
// value when it is positive and 0 otherwise. Split factors are powers of two, so the log is
// the quantity a tree splits on evenly. Length 2 * knobs_size(): fixed for a template.
// Thread-safe; never fails.
std::vector<float> KnobFeatures(const v1::Config& config);

// Names of KnobFeatures' entries: "tile_m", "log2(tile_m)", ... Same length and order.
std::vector<std::string> KnobFeatureNames(const v1::Config& config);

// The loop-nest part of the layout above. Always LoopNestFeatureCount() long. Thread-safe.
std::vector<float> LoopNestFeatures(const codegen::LoopNestSummary& summary);

// LoopNestFeatures of the config's loop nest followed by its KnobFeatures. When the nest
// cannot be described (a config the template rejects) the loop-nest part is all zeros, so
// the length is still LoopNestFeatureCount() + 2 * knobs_size(). Thread-safe.
std::vector<float> ConfigFeatures(const codegen::CheckedWorkload& workload,
                                  const codegen::CheckedTarget& target, const v1::Config& config);

}  // namespace fleettune::cost_model

#endif  // FLEETTUNE_COST_MODEL_FEATURES_H_
