// `fleettune compile`: build the best recorded kernel of a workload for a target through
// fleettune::Compiler's fallback chain (exact, other device, nearest workload, template
// default), saying which it used; with --model, a whole ONNX network as one shared object,
// each tuned layer's config looked up the same way.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/build.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/network.h"
#include "codegen/search_space.h"
#include "graph/build_network.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "rpc_server/cpu_device.h"
#include "tuner/builder_pool.h"
#include "tuner/cli/commands.h"
#include "tuner/compiler.h"
#include "tuner/confirm.h"
#include "tuner/embedded_fleet.h"
#include "tuner/tuning_job.h"
#include "util/median.h"
#include "util/seconds_since.h"

namespace fleettune::cli {
namespace {

using util::Median;

// `matmul:m=512,n=512,k=512` -> `matmul_m512_n512_k512`: a C identifier naming the shape.
std::string DefaultSymbol(const v1::Workload& workload) {
  std::string symbol = workload.op();
  for (const v1::Workload::Param& param : workload.params()) {
    absl::StrAppend(&symbol, "_", param.name(), param.value());
  }
  for (char& c : symbol) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return symbol;
}

// Checks `-o OUT`, the path of the files to write without their extension (OUT.so, OUT.h):
// it must name a file in a directory that exists. An empty OUT, one ending in '/' or an
// existing directory would write the hidden files `.so`/`.h` or files beside the directory.
// InvalidArgument quoting OUT and saying what to give instead.
absl::Status CheckOutputPrefix(const std::string& output) {
  if (absl::EndsWith(output, ".so")) {
    return absl::InvalidArgumentError(
        absl::StrCat("-o '", output, "' ends in .so: give the path without extension, e.g. -o ",
                     output.substr(0, output.size() - 3), " (writes ", output, " and ",
                     output.substr(0, output.size() - 3), ".h)"));
  }
  namespace fs = std::filesystem;
  const std::string shown = absl::StrCat("-o '", output, "'");
  auto example = [](const std::string& directory) {
    const std::string prefix =
        directory.empty() || directory.back() == '/' ? directory + "gemm" : directory + "/gemm";
    return absl::StrCat("give a path without extension, e.g. -o ", prefix, " (writes ", prefix,
                        ".so and ", prefix, ".h)");
  };
  if (output.empty()) return absl::InvalidArgumentError(shown + " is empty: " + example(""));
  std::error_code error;
  if (output.back() == '/' || fs::is_directory(output, error)) {
    std::string directory = output;
    while (directory.size() > 1 && directory.back() == '/') directory.pop_back();
    return absl::InvalidArgumentError(absl::StrCat(shown, " is a directory: ", example(directory)));
  }
  const fs::path parent = fs::path(output).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(shown, ": directory '", parent.string(), "' ",
                     fs::exists(parent, error) ? "is not a directory" : "does not exist"));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

// The rounds of `compile --compare-default`: as many as a tune job's confirmation round.
constexpr int kCompareRounds = tuner::ConfirmOptions{}.rounds;

struct Comparison {
  double compiled_gflops = 0;  // medians over the rounds
  double default_gflops = 0;
  tuner::SpeedupInterval speedup;  // compiled over default, per round
};

// Measures the compiled kernel beside the template default here, the way a tune job's
// confirmation round does on a board (tuner/confirm.h): one multi-candidate task, the two
// kernels interleaved in rounds, in a sandbox worker process of the board runtime, with the
// tune job's measurement settings. So the speedup printed here and the one `tune` printed are
// the same measurement, taken at another time (docs/confirmation.md has how far they agree).
absl::StatusOr<Comparison> CompareHere(const codegen::CheckedWorkload& workload,
                                       const codegen::CheckedTarget& target,
                                       const codegen::BuiltKernel& compiled,
                                       const codegen::BuiltKernel& fallback) {
  absl::StatusOr<codegen::BuiltKernel> reference = codegen::BuildReference(workload, target);
  if (!reference.ok()) return reference.status();
  v1::MeasureTask task;
  *task.mutable_workload() = workload.proto();
  task.set_workload_key(workload.key());
  task.set_target_key(target.key());
  *task.mutable_reference() =
      tuner::MakeArtifact(std::move(reference->shared_object), reference->symbol);
  for (const v1::TensorSpec& tensor : workload.Tensors()) *task.add_tensors() = tensor;
  *task.mutable_options() = tuner::DefaultMeasureOptions();
  task.mutable_options()->set_timeout_ms(2 * task.options().timeout_ms());
  task.set_rounds(kCompareRounds);
  for (const codegen::BuiltKernel* kernel : {&compiled, &fallback}) {
    *task.add_candidates()->mutable_artifact() =
        tuner::MakeArtifact(kernel->shared_object, kernel->symbol);
  }
  rpc_server::SandboxOptions sandbox;
  sandbox.worker_binary = tuner::FindRpcServerBinary();
  rpc_server::CpuDevice device(/*sandbox=*/true, sandbox);
  const v1::MeasureResult result = device.Measure(task);
  if (result.status() != v1::OK) {
    return absl::InternalError(
        absl::StrCat(v1::MeasureStatus_Name(result.status()), ": ", result.error()));
  }
  if (result.candidates_size() != 2) {
    return absl::InternalError(absl::StrCat("the sandbox answered ", result.candidates_size(),
                                            " candidates of 2; is ", sandbox.worker_binary,
                                            " from another fleettune version?"));
  }
  for (int i = 0; i < 2; ++i) {
    const v1::CandidateResult& candidate = result.candidates(i);
    if (candidate.status() != v1::OK || candidate.costs().empty()) {
      return absl::InternalError(absl::StrCat(i == 0 ? "the compiled kernel: " : "the default: ",
                                              v1::MeasureStatus_Name(candidate.status()), ": ",
                                              candidate.error()));
    }
  }
  const std::vector<double> tuned(result.candidates(0).costs().begin(),
                                  result.candidates(0).costs().end());
  const std::vector<double> untuned(result.candidates(1).costs().begin(),
                                    result.candidates(1).costs().end());
  Comparison comparison;
  comparison.compiled_gflops = tuner::Gflops(workload, Median(tuned));
  comparison.default_gflops = tuner::Gflops(workload, Median(untuned));
  comparison.speedup = tuner::SpeedupOver(untuned, tuned);
  return comparison;
}

// `models/resnet-50.onnx` -> `resnet_50`: a C identifier naming the model.
std::string ModelSymbol(const std::string& path) {
  std::string symbol = std::filesystem::path(path).stem().string();
  for (char& c : symbol) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  if (symbol.empty() || std::isdigit(static_cast<unsigned char>(symbol[0]))) {
    symbol = "model_" + symbol;
  }
  return symbol;
}

int RunCompileModel(const CompileArgs& args) {
  constexpr char kCommand[] = "compile";
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
  if (!target.ok()) return ReportError(kCommand, target.status());
  absl::StatusOr<graph::InputShapes> shapes = graph::ParseInputShapes(args.input_shapes);
  if (!shapes.ok()) return ReportError(kCommand, shapes.status());
  absl::StatusOr<graph::Graph> model = graph::ImportOnnx(args.model, *shapes);
  if (!model.ok()) return ReportError(kCommand, model.status());
  if (absl::Status output = CheckOutputPrefix(args.output); !output.ok()) {
    return ReportError(kCommand, output);
  }
  graph::RunPasses(*model);
  absl::StatusOr<std::unique_ptr<Compiler>> compiler = Compiler::Open(args.db);
  if (!compiler.ok()) return ReportError(kCommand, compiler.status());
  // One lookup per distinct workload.
  std::map<std::string, LookupResult> lookups;
  auto lookup = [&](const codegen::CheckedWorkload& workload) -> absl::StatusOr<v1::Config> {
    auto it = lookups.find(workload.key());
    if (it == lookups.end()) {
      absl::StatusOr<LookupResult> found = (*compiler)->Lookup(workload, *target, args.device);
      if (!found.ok()) return found.status();
      it = lookups.emplace(workload.key(), std::move(*found)).first;
    }
    return it->second.config;
  };
  graph::NetworkSpecOptions spec_options;
  spec_options.prepack_weights = !args.no_prepack;
  absl::StatusOr<codegen::NetworkSpec> spec =
      graph::MakeNetworkSpec(*model, *target, lookup, spec_options);
  if (!spec.ok()) return ReportError(kCommand, spec.status());

  codegen::NetworkOptions options;
  options.symbol = args.symbol.empty() ? ModelSymbol(args.model) : args.symbol;
  absl::StatusOr<codegen::BuiltNetwork> network = codegen::BuildNetwork(*spec, *target, options);
  if (!network.ok()) return ReportError(kCommand, network.status());

  std::map<ConfigSource, int> sources;
  int tuned = 0, prepacked = 0;
  for (size_t i = 0; i < spec->layers.size(); ++i) {
    const codegen::NetworkLayer& layer = spec->layers[i];
    std::cout << absl::StrFormat("layer %3d  %-24s  ", i, layer.name);
    if (layer.kind != codegen::NetworkLayer::Kind::kTuned) {
      std::cout << (layer.kind == codegen::NetworkLayer::Kind::kCopy ? "copy" : "simple ")
                << (layer.kind == codegen::NetworkLayer::Kind::kCopy ? "" : layer.simple.type)
                << "\n";
      continue;
    }
    ++tuned;
    prepacked += static_cast<int>(layer.prepacked_inputs.size());
    const LookupResult& found = lookups.at(layer.workload->key());
    sources[found.source] += 1;
    std::cout << layer.workload->key() << "  [" << ConfigSourceName(found.source) << "] "
              << found.explanation << "\n";
  }
  for (const auto& [path, bytes] : {std::pair{args.output + ".so", &network->shared_object},
                                    std::pair{args.output + ".h", &network->c_header}}) {
    if (absl::Status written = WriteFile(path, *bytes); !written.ok()) {
      return ReportError(kCommand, written);
    }
  }
  std::string counted;
  for (ConfigSource source : {ConfigSource::kExact, ConfigSource::kOtherDevice,
                              ConfigSource::kNearestWorkload, ConfigSource::kDefault}) {
    absl::StrAppend(&counted, counted.empty() ? "" : ", ", sources[source], " ",
                    ConfigSourceName(source));
  }
  std::cout << absl::StrFormat(
      "wrote %s.so and %s.h: %s, %d layers (%d tuned, %d simple or copy; configs: %s), weights "
      "%.1f MB (%d pre-packed), .so %.1f MB, built in %.1f s\n",
      args.output, args.output, network->symbol, spec->layers.size(), tuned,
      spec->layers.size() - tuned, counted, network->weight_bytes / 1e6, prepacked,
      network->shared_object.size() / 1e6, util::SecondsSince(start));
  return kExitOk;
}

}  // namespace

int RunCompile(const CompileArgs& args) {
  constexpr char kCommand[] = "compile";
  if (args.workload.empty() == args.model.empty()) {
    return ReportError(kCommand, absl::InvalidArgumentError("give one of --workload and --model"));
  }
  if (!args.model.empty()) return RunCompileModel(args);
  // What to build is checked before where to write it: the first error names the input.
  absl::StatusOr<codegen::CheckedWorkload> workload =
      codegen::CheckedWorkload::Parse(args.workload);
  if (!workload.ok()) return ReportError(kCommand, workload.status());
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
  if (!target.ok()) return ReportError(kCommand, target.status());
  if (absl::Status output = CheckOutputPrefix(args.output); !output.ok()) {
    return ReportError(kCommand, output);
  }
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(*workload, *target);
  if (!space.ok()) return ReportError(kCommand, space.status());
  // A missing database file is no error here: compile then builds the template default.
  absl::StatusOr<std::unique_ptr<Compiler>> compiler = Compiler::Open(args.db);
  if (!compiler.ok()) return ReportError(kCommand, compiler.status());
  absl::StatusOr<LookupResult> lookup = (*compiler)->Lookup(*workload, *target, args.device);
  if (!lookup.ok()) return ReportError(kCommand, lookup.status());
  std::cerr << "fleettune compile: " << (lookup->source == ConfigSource::kExact ? "" : "warning: ")
            << "[" << ConfigSourceName(lookup->source) << "] " << lookup->explanation << "\n";
  const v1::Config& config = lookup->config;

  codegen::BuildOptions options;
  options.symbol = args.symbol.empty() ? DefaultSymbol(workload->proto()) : args.symbol;
  options.dump_ir = args.dump_ir;
  absl::StatusOr<codegen::BuiltKernel> kernel =
      codegen::BuildKernel(*workload, *target, config, options);
  if (!kernel.ok()) return ReportError(kCommand, kernel.status());
  if (args.dump_ir) std::cout << kernel->ir_dump;

  for (const auto& [path, bytes] : {std::pair{args.output + ".so", &kernel->shared_object},
                                    std::pair{args.output + ".h", &kernel->c_header}}) {
    if (absl::Status written = WriteFile(path, *bytes); !written.ok()) {
      return ReportError(kCommand, written);
    }
  }
  std::cout << absl::StrFormat("wrote %s.so and %s.h: %s  (%s)\n", args.output, args.output,
                               kernel->symbol, codegen::ConfigToString(config));

  if (args.compare_default) {
    if (codegen::ConfigHash(config) == codegen::ConfigHash(space->DefaultConfig())) {
      std::cout << "the compiled kernel is the template default: nothing to compare\n";
      return kExitOk;
    }
    absl::StatusOr<codegen::BuiltKernel> fallback =
        codegen::BuildKernel(*workload, *target, space->DefaultConfig(), options);
    if (!fallback.ok()) return ReportError(kCommand, fallback.status());
    absl::StatusOr<Comparison> comparison = CompareHere(*workload, *target, *kernel, *fallback);
    if (!comparison.ok()) return ReportError(kCommand, comparison.status());
    std::cout << absl::StrFormat(
        "measured here in a board sandbox, the two kernels interleaved, median of %d rounds: "
        "compiled %.2f GFLOPS, template default %.2f GFLOPS, speedup %s%s\n",
        kCompareRounds, comparison->compiled_gflops, comparison->default_gflops,
        tuner::DescribeSpeedup(comparison->speedup),
        comparison->speedup.Reliable() ? "" : "; no reliable gain over the default here");
  }
  return kExitOk;
}

}  // namespace fleettune::cli
