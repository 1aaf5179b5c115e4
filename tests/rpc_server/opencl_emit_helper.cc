// Test helper for opencl_device_test: prints the OpenCL sources codegen emits for the
// `opencl` target, so that the test process itself never loads LLVM 14 (PoCL loads its own
// LLVM 15 in-process, and the two do not mix in one process).
//
//   opencl_emit_helper WORKLOAD COUNT SEED
// prints, for the template default and COUNT - 1 random configs (seeded), a line
// `=== CONFIG <knobs>` followed by the source;
//   opencl_emit_helper WORKLOAD CONFIGS reference
// does the same for the given configs (`tile_y=1,tile_x=1,workgroup=0,unroll_k=1;...`), then
// the naive reference kernel (config `reference`). Exit code 2 with a message on bad input.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"

int main(int argc, char** argv) {
  using namespace fleettune;  // NOLINT
  if (argc != 4) {
    std::fprintf(stderr, "usage: opencl_emit_helper WORKLOAD COUNT SEED\n");
    return 2;
  }
  absl::StatusOr<v1::Workload> workload = codegen::ParseWorkload(argv[1]);
  absl::StatusOr<v1::Target> target = codegen::ParseTarget("opencl");
  if (!workload.ok() || !target.ok()) {
    std::fprintf(stderr, "bad workload %s\n", argv[1]);
    return 2;
  }
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(*workload, *target);
  if (!space.ok()) {
    std::fprintf(stderr, "%s\n", space.status().ToString().c_str());
    return 2;
  }
  std::vector<v1::Config> configs;
  if (std::string(argv[3]) == "reference") {
    for (absl::string_view text : absl::StrSplit(argv[2], ';', absl::SkipEmpty())) {
      v1::Config config;
      config.set_template_name(space->template_name());
      for (absl::string_view knob : absl::StrSplit(text, ',')) {
        std::pair<std::string, std::string> kv = absl::StrSplit(knob, '=');
        auto* k = config.add_knobs();
        k->set_name(kv.first);
        int64_t value = 0;
        if (!absl::SimpleAtoi(kv.second, &value)) return 2;
        k->set_value(value);
      }
      configs.push_back(config);
    }
  } else {
    const int count = std::atoi(argv[2]);
    std::mt19937_64 rng(std::strtoull(argv[3], nullptr, 10));
    for (int i = 0; i < count; ++i) {
      configs.push_back(i == 0 ? space->DefaultConfig() : space->ConfigAt(rng() % space->size()));
    }
  }
  for (const v1::Config& config : configs) {
    absl::StatusOr<codegen::BuiltKernel> built = codegen::BuildKernel(*workload, *target, config);
    if (!built.ok()) {
      std::fprintf(stderr, "%s: %s\n", codegen::ConfigToString(config).c_str(),
                   built.status().ToString().c_str());
      return 1;
    }
    std::printf("=== CONFIG %s\n%s", codegen::ConfigToString(config).c_str(),
                built->shared_object.c_str());
  }
  if (std::string(argv[3]) == "reference") {
    absl::StatusOr<codegen::BuiltKernel> reference = codegen::BuildReference(*workload, *target);
    if (!reference.ok()) return 1;
    std::printf("=== CONFIG reference\n%s", reference->shared_object.c_str());
  }
  return 0;
}
