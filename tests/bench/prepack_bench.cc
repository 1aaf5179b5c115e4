// Pre-packed weights (issue #20): what packing constant weights once, at build time, saves
// per call. For each tunable layer of a model (`fleettune tasks --model`), the default config
// of its template on one thread, built normally (the kernel packs its weights on every call)
// and with its weight input prepacked (BuildOptions::prepacked_inputs, fed PackConstantInput's
// data), timed interleaved (bench_util.h): median milliseconds per call, the ratio, and the
// sum over the model weighted by each layer's count. Layers whose template reads its weights
// in place (conv2d_im2col) are timed once and count the same both ways. For them, the
// conv2d_nchwc default prepacked is timed as well: FindTemplate picks im2col for small
// images because packing weights on every call cost as much as the arithmetic, which
// prepacking removes.
//
// Usage: prepack_bench --model resnet50.onnx [--quick]; without --model, two tiny layers
// (the ctest smoke run). Each prepacked output is checked against the normal build's. The
// oneDNN column is OnednnLayerSeconds (onednn_reference.h) for the same layer.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "codegen/build.h"
#include "codegen/search_space.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "graph/tasks.h"
#include "rpc_server/kernel_library.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/onednn_reference.h"

namespace fleettune::bench {
namespace {

constexpr double kSettleSeconds = 0.05;

struct Layer {
  std::string workload;
  int count = 1;
};

// A built kernel with its buffers (inputs random, output NaN), ready to call.
struct Runnable {
  std::unique_ptr<rpc_server::KernelLibrary> library;
  std::vector<AlignedBuffer> buffers;
  std::vector<void*> args;
  double pack_seconds = 0;  // PackConstantInput of the prepacked input, on the host
  void Call() { library->function()(args.data()); }
  const AlignedBuffer& output() const { return buffers.back(); }
};

// Builds `config` (with `prepacked` prepacked) and fills its buffers; the prepacked input
// holds PackConstantInput's packing of the same random tensor.
absl::StatusOr<Runnable> Prepare(const codegen::CheckedWorkload& workload,
                                 const codegen::CheckedTarget& target, const v1::Config& config,
                                 const std::string& prepacked) {
  codegen::BuildOptions options;
  if (!prepacked.empty()) options.prepacked_inputs = {prepacked};
  absl::StatusOr<codegen::BuiltKernel> built =
      codegen::BuildKernel(workload, target, config, options);
  if (!built.ok()) return built.status();
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> library =
      rpc_server::KernelLibrary::Load(built->shared_object, built->symbol);
  if (!library.ok()) return library.status();
  Runnable run;
  run.library = *std::move(library);
  std::vector<v1::TensorSpec> tensors = workload.Tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    size_t elements = 1;
    for (int64_t d : tensors[i].shape()) elements *= d;
    AlignedBuffer buffer(elements);
    if (i + 1 == tensors.size()) {
      buffer.FillNan();
    } else {
      buffer.FillRandom(static_cast<unsigned>(i + 1));
    }
    if (tensors[i].name() == prepacked) {
      const double start = NowSeconds();
      absl::StatusOr<codegen::PackedInput> packed =
          codegen::PackConstantInput(workload, target, config, prepacked,
                                     std::vector<float>(buffer.data(), buffer.data() + elements));
      if (!packed.ok()) return packed.status();
      run.pack_seconds = NowSeconds() - start;
      buffer = AlignedBuffer(packed->data.size());
      std::copy(packed->data.begin(), packed->data.end(), buffer.data());
    }
    run.buffers.push_back(std::move(buffer));
  }
  for (AlignedBuffer& buffer : run.buffers) run.args.push_back(buffer.data());
  return run;
}

// The input `config` packs as a constant ("weight", "B"), or "" when it packs none.
std::string ConstantInput(const codegen::CheckedWorkload& workload,
                          const codegen::CheckedTarget& target, const v1::Config& config) {
  for (const v1::TensorSpec& tensor : workload.Tensors()) {
    std::vector<float> zeros(1);
    size_t elements = 1;
    for (int64_t d : tensor.shape()) elements *= d;
    zeros.resize(elements);
    if (codegen::PackConstantInput(workload, target, config, tensor.name(), zeros).ok()) {
      return tensor.name();
    }
  }
  return "";
}

std::string Ms(double seconds) { return absl::StrFormat("%.4f", seconds * 1e3); }

int Run(const std::vector<Layer>& layers, bool quick) {
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse("host -threads=1");
  if (!target.ok()) return 1;
  TimingOptions timing;
  timing.min_repeat_seconds = quick ? 0.005 : 0.1;
  timing.repeats = quick ? 3 : 7;
  Table table({"layer", "count", "template", "normal ms", "prepacked ms", "normal/prepacked",
               "pack ms (build time)", "nchwc prepacked ms", "oneDNN ms", "prepacked/oneDNN"});
  double normal_sum = 0, prepacked_sum = 0, onednn_sum = 0;
  for (const Layer& layer : layers) {
    absl::StatusOr<codegen::CheckedWorkload> workload =
        codegen::CheckedWorkload::Parse(layer.workload);
    absl::StatusOr<codegen::SearchSpace> space =
        workload.ok() ? codegen::SearchSpaceFor(*workload, *target)
                      : absl::StatusOr<codegen::SearchSpace>(workload.status());
    if (!space.ok()) {
      std::fprintf(stderr, "prepack_bench: %s: %s\n", layer.workload.c_str(),
                   std::string(space.status().message()).c_str());
      return 1;
    }
    const v1::Config& config = space->DefaultConfig();
    const std::string input = ConstantInput(*workload, *target, config);
    std::vector<std::pair<std::string, v1::Config>> builds = {{"", config}};
    if (!input.empty()) builds.push_back({input, config});
    if (config.template_name() == "conv2d_im2col") {
      absl::StatusOr<codegen::SearchSpace> nchwc =
          codegen::SearchSpaceFor(*workload, *target, "conv2d_nchwc");
      if (nchwc.ok()) builds.push_back({"weight", nchwc->DefaultConfig()});
    }
    std::vector<Runnable> runs;
    std::vector<Contestant> contestants;
    for (const auto& [prepacked, build_config] : builds) {
      absl::StatusOr<Runnable> run = Prepare(*workload, *target, build_config, prepacked);
      if (!run.ok()) {
        std::fprintf(stderr, "prepack_bench: %s: %s\n", layer.workload.c_str(),
                     std::string(run.status().message()).c_str());
        return 1;
      }
      runs.push_back(*std::move(run));
    }
    for (Runnable& run : runs) contestants.push_back({"", [&run] { run.Call(); }});
    TimeInterleaved(&contestants, timing, kSettleSeconds);
    for (size_t i = 1; i < runs.size(); ++i) {
      const AlignedBuffer& want = runs[0].output();
      double error = MaxRelativeError(runs[i].output().data(), want.data(), want.size());
      if (!(error < 1e-5)) {
        std::fprintf(stderr, "prepack_bench: %s: build %zu differs from the normal one (%g)\n",
                     layer.workload.c_str(), i, error);
        return 1;
      }
    }
    const double normal = contestants[0].seconds;
    const double prepacked = input.empty() ? normal : contestants[1].seconds;
    const double onednn = OnednnLayerSeconds(*workload, 1, timing);
    normal_sum += layer.count * normal;
    prepacked_sum += layer.count * prepacked;
    onednn_sum = onednn > 0 && onednn_sum >= 0 ? onednn_sum + layer.count * onednn : -1;
    const bool has_nchwc = config.template_name() == "conv2d_im2col" && contestants.size() > 1;
    table.AddRow({layer.workload, std::to_string(layer.count), config.template_name(), Ms(normal),
                  input.empty() ? "(not packed)" : Ms(prepacked), FormatRatio(normal, prepacked),
                  input.empty() ? "-" : Ms(runs[1].pack_seconds),
                  has_nchwc ? Ms(contestants.back().seconds) : "-",
                  onednn > 0 ? Ms(onednn) : "-", FormatRatio(prepacked, onednn)});
  }
  std::printf("Pre-packed weights: default config, one thread, median ms per call\n");
  table.Print();
  std::printf("sum over the model (weighted by count): normal %s ms, prepacked %s ms, %s x\n",
              Ms(normal_sum).c_str(), Ms(prepacked_sum).c_str(),
              FormatRatio(normal_sum, prepacked_sum).c_str());
  std::printf("oneDNN (%s) sum %s ms: prepacked / oneDNN %s x\n", OnednnVersion().c_str(),
              Ms(onednn_sum).c_str(), FormatRatio(prepacked_sum, onednn_sum).c_str());
  return 0;
}

}  // namespace
}  // namespace fleettune::bench

int main(int argc, char** argv) {
  CLI::App app{"Times layers built with and without pre-packed weights"};
  std::string model;
  bool quick = false;
  app.add_option("--model", model, "ONNX model whose tunable layers are timed");
  app.add_flag("--quick", quick, "short timing");
  CLI11_PARSE(app, argc, argv);
  std::vector<fleettune::bench::Layer> layers = {
      {"conv2d:n=1,c=16,h=14,w=14,k=40,r=3,s=3,stride=1,pad=1", 1},
      {"conv2d:n=1,c=32,h=7,w=7,k=32,r=3,s=3,stride=1,pad=1", 2},
      {"matmul:m=4,n=40,k=32", 1}};
  if (!model.empty()) {
    absl::StatusOr<fleettune::graph::Graph> graph = fleettune::graph::ImportOnnx(model);
    if (!graph.ok()) {
      std::fprintf(stderr, "prepack_bench: %s\n", std::string(graph.status().message()).c_str());
      return 2;
    }
    fleettune::graph::RunPasses(*graph);
    layers.clear();
    for (const fleettune::graph::Task& task : fleettune::graph::ExtractTasks(*graph).tasks) {
      layers.push_back({task.workload, task.count});
    }
  }
  return fleettune::bench::Run(layers, quick);
}
