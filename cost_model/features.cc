#include "cost_model/features.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

namespace fleettune::cost_model {
namespace {

float Log(double x) { return static_cast<float>(std::log2(1.0 + std::max(x, 0.0))); }

// Touched bytes and reuse of `access` over its innermost `levels` loops (all when fewer).
void AppendFootprint(const codegen::LoopNestSummary& summary, const codegen::AccessSummary& access,
                     size_t levels, std::vector<float>& out) {
  double iterations = 1, distinct = 1;
  const size_t count = access.loops.size();
  for (size_t i = count - std::min(levels, count); i < count; ++i) {
    const double extent = static_cast<double>(summary.loops[access.loops[i]].extent);
    iterations *= extent;
    if (access.strides[i] != 0) distinct *= extent;
  }
  out.push_back(Log(distinct * summary.element_bytes));
  out.push_back(Log(iterations / distinct));
}

// Distinct elements and iterations of `access` over its straight-line block: the innermost
// enclosing loops that are unrolled or vectorized, i.e. what one copy of the unrolled body
// touches. For the store of a register-tiled kernel, the distinct elements are its
// accumulators, which decide register pressure.
std::pair<double, double> StraightLineFootprint(const codegen::LoopNestSummary& summary,
                                                const codegen::AccessSummary& access) {
  double iterations = 1, distinct = 1;
  for (size_t i = access.loops.size(); i-- > 0;) {
    const codegen::LoopSummary& loop = summary.loops[access.loops[i]];
    if (loop.kind != codegen::LoopKind::kUnrolled && loop.kind != codegen::LoopKind::kVectorized) {
      break;
    }
    iterations *= static_cast<double>(loop.extent);
    if (access.strides[i] != 0) distinct *= static_cast<double>(loop.extent);
  }
  return {distinct, iterations};
}

}  // namespace

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

std::vector<float> LoopNestFeatures(const codegen::LoopNestSummary& summary) {
  std::vector<float> out;
  out.reserve(LoopNestFeatureCount());

  // Loops by position.
  int parallel_loops = 0;
  double parallel_iterations = 1, largest_unrolled = 0;
  for (const codegen::LoopSummary& loop : summary.loops) {
    if (loop.kind == codegen::LoopKind::kParallel) {
      ++parallel_loops;
      parallel_iterations *= static_cast<double>(loop.extent);
    }
    if (loop.kind == codegen::LoopKind::kUnrolled) {
      largest_unrolled = std::max(largest_unrolled, static_cast<double>(loop.extent));
    }
  }
  for (int slot = 0; slot < kLoopSlots; ++slot) {
    if (slot >= static_cast<int>(summary.loops.size())) {
      out.insert(out.end(), kFeaturesPerLoop, 0.0f);
      continue;
    }
    const codegen::LoopSummary& loop = summary.loops[slot];
    out.push_back(Log(static_cast<double>(loop.extent)));
    for (codegen::LoopKind kind : {codegen::LoopKind::kSerial, codegen::LoopKind::kParallel,
                                   codegen::LoopKind::kVectorized, codegen::LoopKind::kUnrolled}) {
      out.push_back(loop.kind == kind ? 1.0f : 0.0f);
    }
    out.push_back(static_cast<float>(loop.depth));
    out.push_back(loop.constant_extent ? 1.0f : 0.0f);
  }

  // Accesses, the most executed first.
  std::vector<size_t> order(summary.accesses.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return summary.accesses[a].executions > summary.accesses[b].executions;
  });
  double total_bytes = 0;
  for (const codegen::AccessSummary& access : summary.accesses) {
    double distinct = 1;
    for (size_t i = 0; i < access.loops.size(); ++i) {
      if (access.strides[i] != 0)
        distinct *= static_cast<double>(summary.loops[access.loops[i]].extent);
    }
    total_bytes += distinct * summary.element_bytes;
  }
  for (int slot = 0; slot < kAccessSlots; ++slot) {
    if (slot >= static_cast<int>(order.size())) {
      out.insert(out.end(), kFeaturesPerAccess, 0.0f);
      continue;
    }
    const codegen::AccessSummary& access = summary.accesses[order[slot]];
    out.push_back(access.is_store ? 1.0f : 0.0f);
    out.push_back(access.is_local ? 1.0f : 0.0f);
    out.push_back(Log(access.executions));
    const int64_t stride = access.strides.empty() ? 0 : access.strides.back();
    out.push_back(stride < 0 ? -1.0f : Log(static_cast<double>(stride)));
    for (size_t levels : {size_t{1}, size_t{2}, size_t{3}, size_t{4}, access.loops.size()}) {
      AppendFootprint(summary, access, levels, out);
    }
  }

  // The whole nest.
  out.push_back(Log(summary.flops));
  out.push_back(static_cast<float>(summary.vector_lanes));
  out.push_back(Log(total_bytes));
  out.push_back(total_bytes > 0 ? static_cast<float>(std::log2(1.0 + summary.flops / total_bytes))
                                : 0.0f);
  out.push_back(static_cast<float>(summary.loops.size()));
  out.push_back(static_cast<float>(parallel_loops));
  out.push_back(Log(parallel_loops > 0 ? parallel_iterations : 0));
  out.push_back(Log(largest_unrolled));
  out.push_back(Log(static_cast<double>(summary.stack_bytes)));
  out.push_back(Log(static_cast<double>(summary.heap_bytes)));
  out.push_back(static_cast<float>(summary.accesses.size()));
  // Straight-line blocks: the most elements one store touches in one (accumulators), the
  // most a load touches, and the largest block's iterations.
  double store_block = 0, load_block = 0, block_iterations = 0;
  for (const codegen::AccessSummary& access : summary.accesses) {
    const auto [distinct, iterations] = StraightLineFootprint(summary, access);
    (access.is_store ? store_block : load_block) =
        std::max(access.is_store ? store_block : load_block, distinct);
    block_iterations = std::max(block_iterations, iterations);
  }
  out.push_back(Log(store_block));
  out.push_back(Log(load_block));
  out.push_back(Log(block_iterations));
  return out;
}

std::vector<float> ConfigFeatures(const codegen::CheckedWorkload& workload,
                                  const codegen::CheckedTarget& target, const v1::Config& config) {
  std::vector<float> features;
  absl::StatusOr<codegen::LoopNestSummary> summary =
      codegen::DescribeLoopNest(workload, target, config);
  if (summary.ok()) {
    features = LoopNestFeatures(*summary);
  } else {
    features.assign(LoopNestFeatureCount(), 0.0f);
  }
  std::vector<float> knobs = KnobFeatures(config);
  features.insert(features.end(), knobs.begin(), knobs.end());
  return features;
}

}  // namespace fleettune::cost_model
