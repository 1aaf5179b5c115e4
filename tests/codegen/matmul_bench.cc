// Not a test: times matmul kernels on this host. Builds the template's default config and
// `--random N` random configs of the workload, runs each and prints build time and GFLOPS.
//   codegen_matmul_bench [workload] [target] [random-configs] [seed]
//   codegen_matmul_bench matmul:m=512,n=512,k=512 "host -threads=1" 30 1
// With a config string as the fifth argument (tile_m=..,...), builds only that config and
// prints the lowered IR (a debugging aid).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "tests/codegen/kernel_runner.h"

namespace ft = fleettune::codegen;

namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Median seconds per run over `repeats` timed runs (after one warm-up run); `cpu_ratio` is
// process CPU time over wall time (about the number of busy threads).
double TimeKernel(ft::testing::KernelFunction fn, void* const* args, int repeats,
                  double* cpu_ratio) {
  fn(args);
  std::vector<double> times;
  double cpu_start = CpuSeconds();
  auto wall_start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    fn(args);
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  *cpu_ratio = (CpuSeconds() - cpu_start) /
               std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string workload_text = argc > 1 ? argv[1] : "matmul:m=512,n=512,k=512";
  std::string target_text = argc > 2 ? argv[2] : "host -threads=1";
  int random_configs = argc > 3 ? std::atoi(argv[3]) : 30;
  uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
  auto workload = ft::ParseWorkload(workload_text);
  auto target = ft::ParseTarget(target_text);
  if (!workload.ok() || !target.ok()) {
    std::fprintf(stderr, "bad input: %s %s\n", workload.status().ToString().c_str(),
                 target.status().ToString().c_str());
    return 2;
  }
  auto space = ft::SearchSpaceFor(*workload, *target);
  std::vector<fleettune::v1::Config> configs = {space->DefaultConfig()};
  if (argc > 5) {
    fleettune::v1::Config config;
    config.set_template_name(space->template_name());
    for (absl::string_view part : absl::StrSplit(argv[5], ',')) {
      std::vector<std::string> kv = absl::StrSplit(part, '=');
      auto* knob = config.add_knobs();
      knob->set_name(kv[0]);
      int64_t value = 0;
      (void)absl::SimpleAtoi(kv[1], &value);
      knob->set_value(value);
    }
    configs = {config};
    random_configs = 0;
  }
  std::mt19937_64 random(seed);
  for (int i = 0; i < random_configs; ++i)
    configs.push_back(space->ConfigAt(random() % space->size()));

  const auto& p = workload->params();
  int64_t m = p[0].value(), n = p[1].value(), k = p[2].value();
  std::vector<float> a = ft::testing::RandomVector(m * k, 1),
                     b = ft::testing::RandomVector(k * n, 2);
  std::vector<float> c(m * n), expected;
  ft::testing::NaiveMatmul(a, b, &expected, m, n, k);
  void* args[] = {a.data(), b.data(), c.data()};
  double flops = ft::WorkloadFlops(*workload);
  std::vector<double> build_seconds;
  double best = 0;
  for (size_t i = 0; i < configs.size(); ++i) {
    ft::BuildOptions options;
    options.dump_ir = argc > 5;
    auto kernel = ft::BuildKernel(*workload, *target, configs[i], options);
    if (!kernel.ok()) {
      std::printf("%s: build failed: %s\n", ft::ConfigToString(configs[i]).c_str(),
                  kernel.status().ToString().c_str());
      continue;
    }
    if (options.dump_ir) std::printf("%s\n", kernel->ir_dump.c_str());
    double total = kernel->lower_seconds + kernel->llvm_seconds + kernel->link_seconds;
    build_seconds.push_back(total);
    std::string error;
    ft::testing::LoadedKernel loaded(kernel->shared_object, kernel->symbol, &error);
    if (loaded.function() == nullptr) {
      std::printf("load failed: %s\n", error.c_str());
      continue;
    }
    double cpu_ratio = 0;
    double seconds = TimeKernel(loaded.function(), args, 5, &cpu_ratio);
    double gflops = flops / seconds * 1e-9;
    double err = ft::testing::MaxRelativeError(c, expected);
    if (i > 0) best = std::max(best, gflops);
    std::printf(
        "%-8s %-80s build %.3fs (lower %.3f llvm %.3f link %.3f)  %8.2f GFLOPS  cpu/wall %.1f  err "
        "%.1e\n",
        i == 0 ? "default" : "random", ft::ConfigToString(configs[i]).c_str(), total,
        kernel->lower_seconds, kernel->llvm_seconds, kernel->link_seconds, gflops, cpu_ratio, err);
  }
  std::sort(build_seconds.begin(), build_seconds.end());
  if (!build_seconds.empty()) {
    std::printf("median build %.3fs over %zu builds; best random %.2f GFLOPS\n",
                build_seconds[build_seconds.size() / 2], build_seconds.size(), best);
  }
  return 0;
}
