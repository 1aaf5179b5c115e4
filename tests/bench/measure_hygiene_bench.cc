// Measurement hygiene (issue #22): does a board's sandbox worker time a kernel at the same
// speed as an in-process measurement on the same machine? For the demo's two workloads it
// builds the template default and one other config, and times each, round after round, by:
//
//   in-process     MeasureOnDevice on this process's CpuDevice (what `compile
//                  --compare-default` did before #22): 3 repeats of >= 40 ms;
//   sandbox        the board's path: a fresh sandbox worker process per task
//                  (fleettune-rpc-server --sandbox-worker), same options;
//   sandbox, both  the confirmation round's path: one multi-candidate task holding both
//                  kernels, one interleaved round per task;
//   OMP passive    the sandbox with OMP_WAIT_POLICY=passive in the worker's environment
//                  (libgomp's threads sleep at once after a parallel region instead of
//                  spinning), to see whether the wait policy moves the figures.
//
// The methods run in a rotating order each round, so a busy spell of the machine falls on
// each alike. It prints the median GFLOPS per kernel and method, each method's median ratio to
// in-process on the same round, the spread (CV) of each, the first repeat against the later
// ones (page faults of fresh buffers, caches), and the CPU clock the kernel saw before and
// after (/proc/cpuinfo, where the VM exposes it). No assertions: a report.
//
// Usage: measure_hygiene_bench [--rounds 9] [--quick]
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/build.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "rpc_server/cpu_device.h"
#include "tuner/builder_pool.h"
#include "tuner/tuning_job.h"
#include "util/median.h"

namespace fleettune {
namespace {

struct Sample {
  std::vector<double> gflops;      // per round
  std::vector<double> first_rest;  // per round: first repeat's cost / median of the others
};

// The mean "cpu MHz" over the CPUs /proc/cpuinfo lists; 0 when it lists none.
double MeanCpuMhz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  double sum = 0;
  int count = 0;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) != 0) continue;
    sum += std::atof(line.substr(line.find(':') + 1).c_str());
    ++count;
  }
  return count == 0 ? 0 : sum / count;
}

v1::MeasureTask BaseTask(const codegen::CheckedWorkload& workload,
                         const codegen::CheckedTarget& target, const v1::Artifact& reference) {
  v1::MeasureTask task;
  *task.mutable_workload() = workload.proto();
  task.set_workload_key(workload.key());
  task.set_target_key(target.key());
  *task.mutable_reference() = reference;
  for (const v1::TensorSpec& tensor : workload.Tensors()) *task.add_tensors() = tensor;
  *task.mutable_options() = tuner::DefaultMeasureOptions();
  return task;
}

int Run(int rounds, bool quick) {
  const std::vector<std::string> workloads =
      quick ? std::vector<std::string>{"matmul:m=128,n=128,k=128"}
            : std::vector<std::string>{
                  "matmul:m=512,n=512,k=512",
                  "depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=1,pad=1"};
  const char* worker = std::getenv("FLEETTUNE_RPC_SERVER");
  rpc_server::SandboxOptions sandbox_options;
  sandbox_options.worker_binary = worker != nullptr ? worker : FLEETTUNE_RPC_SERVER_BIN;
  rpc_server::CpuDevice in_process(/*sandbox=*/false, rpc_server::SandboxOptions{});
  rpc_server::CpuDevice sandbox(/*sandbox=*/true, sandbox_options);
  const std::vector<std::string> methods = {"in-process", "sandbox", "sandbox, both",
                                            "OMP passive"};
  const codegen::CheckedTarget target = *codegen::CheckedTarget::Parse("host");
  std::cout << absl::StrFormat(
      "measure_hygiene_bench: %d rounds, target host (%s); CPU clock "
      "before: %.0f MHz\n",
      rounds, target.key(), MeanCpuMhz());
  for (const std::string& key : workloads) {
    const codegen::CheckedWorkload workload = *codegen::CheckedWorkload::Parse(key);
    absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(workload, target);
    if (!space.ok()) {
      std::cerr << space.status() << "\n";
      return 1;
    }
    // The default and a config halfway through the space: any two kernels do, the question is
    // whether the methods agree on each.
    const std::vector<v1::Config> configs = {space->DefaultConfig(),
                                             space->ConfigAt(space->size() / 2)};
    std::vector<tuner::BuildOutcome> built = tuner::BuildAll(workload, target, configs, 2);
    absl::StatusOr<codegen::BuiltKernel> reference = codegen::BuildReference(workload, target);
    if (!reference.ok()) {
      std::cerr << reference.status() << "\n";
      return 1;
    }
    const v1::Artifact reference_artifact =
        tuner::MakeArtifact(reference->shared_object, reference->symbol);
    std::vector<v1::MeasureTask> singles;
    v1::MeasureTask both = BaseTask(workload, target, reference_artifact);
    both.set_rounds(1);
    for (tuner::BuildOutcome& outcome : built) {
      if (!outcome.artifact.ok()) {
        std::cerr << outcome.artifact.status() << "\n";
        return 1;
      }
      singles.push_back(BaseTask(workload, target, reference_artifact));
      *singles.back().mutable_artifact() = *outcome.artifact;
      *both.add_candidates()->mutable_artifact() = *outcome.artifact;
    }
    // samples[method][kernel]
    std::vector<std::vector<Sample>> samples(methods.size(), std::vector<Sample>(2));
    auto single = [&](rpc_server::Device& device, size_t method, size_t kernel) -> bool {
      const v1::MeasureResult result = device.Measure(singles[kernel]);
      if (result.status() != v1::OK || result.costs().empty()) {
        std::cerr << methods[method] << ": " << v1::MeasureStatus_Name(result.status()) << " "
                  << result.error() << "\n";
        return false;
      }
      std::vector<double> costs(result.costs().begin(), result.costs().end());
      samples[method][kernel].gflops.push_back(tuner::Gflops(workload, util::Median(costs)));
      if (costs.size() > 1) {
        samples[method][kernel].first_rest.push_back(
            costs.front() / util::Median(std::vector<double>(costs.begin() + 1, costs.end())));
      }
      return true;
    };
    const std::vector<std::function<bool()>> runs = {
        [&] { return single(in_process, 0, 0) && single(in_process, 0, 1); },
        [&] { return single(sandbox, 1, 0) && single(sandbox, 1, 1); },
        [&] {
          const v1::MeasureResult result = sandbox.Measure(both);
          if (result.status() != v1::OK || result.candidates_size() != 2) {
            std::cerr << "sandbox, both: " << v1::MeasureStatus_Name(result.status()) << " "
                      << result.error() << "\n";
            return false;
          }
          for (int k = 0; k < 2; ++k) {
            const v1::CandidateResult& candidate = result.candidates(k);
            if (candidate.status() != v1::OK || candidate.costs().empty()) return false;
            samples[2][k].gflops.push_back(tuner::Gflops(workload, candidate.costs(0)));
          }
          return true;
        },
        [&] {
          setenv("OMP_WAIT_POLICY", "passive", 1);
          const bool ok = single(sandbox, 3, 0) && single(sandbox, 3, 1);
          unsetenv("OMP_WAIT_POLICY");
          return ok;
        },
    };
    for (int round = 0; round < rounds; ++round) {
      for (size_t i = 0; i < runs.size(); ++i) {
        if (!runs[(i + static_cast<size_t>(round)) % runs.size()]()) return 1;
      }
    }
    std::cout << "\n" << key << "\n";
    std::cout << absl::StrFormat("  %-14s %-34s %10s %8s %9s %12s\n", "method", "kernel", "GFLOPS",
                                 "CV", "vs in-proc", "1st/others");
    for (size_t k = 0; k < 2; ++k) {
      for (size_t m = 0; m < methods.size(); ++m) {
        const Sample& sample = samples[m][k];
        std::vector<double> ratios;
        for (size_t r = 0; r < sample.gflops.size(); ++r) {
          ratios.push_back(sample.gflops[r] / samples[0][k].gflops[r]);
        }
        std::cout << absl::StrFormat(
            "  %-14s %-34s %10.2f %7.1f%% %9.3f %12s\n", methods[m],
            k == 0 ? "template default" : codegen::ConfigToString(configs[1]).substr(0, 34),
            util::Median(sample.gflops), 100 * util::CoefficientOfVariation(sample.gflops),
            util::Median(ratios),
            sample.first_rest.empty() ? "-"
                                      : absl::StrFormat("%.3f", util::Median(sample.first_rest)));
      }
    }
  }
  std::cout << absl::StrFormat("\nCPU clock after: %.0f MHz\n", MeanCpuMhz());
  return 0;
}

}  // namespace
}  // namespace fleettune

int main(int argc, char** argv) {
  CLI::App app{"sandbox vs in-process measurement of the same kernels (issue #22)"};
  int rounds = 9;
  bool quick = false;
  app.add_option("--rounds", rounds, "rounds; each runs every method on both kernels");
  app.add_flag("--quick", quick, "one small matmul, 3 rounds (the ctest smoke run)");
  CLI11_PARSE(app, argc, argv);
  if (quick) rounds = 3;
  return fleettune::Run(rounds, quick);
}
