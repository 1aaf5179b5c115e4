// Whole networks (issue #20): ResNet-50 and MobileNet-V2 at batch 1, fp32, built by
// `fleettune compile --model` with template defaults only and (with --db) from a tuning
// database, against OpenCV DNN 4.6 on the same ONNX file and the sum of oneDNN's per-layer
// times for the same convolutions and matmuls (each layer in oneDNN's faster layout, NCHW or
// blocked, times its count in the model), at one thread and at all cores, in one run.
//
// Every network is first checked against OpenCV DNN on one seeded input (relative error, see
// MaxRelativeError); a check over 1e-3 makes the run exit 1. Timings are medians
// (bench_util's TimeInterleaved: fleettune's builds alternate so a slow spell hits all), in
// kRounds rounds that alternate with OpenCV's timing; each figure is the median over rounds.
//
//   network_bench [--quick] [--models resnet50,mobilenet_v2] [--threads 1,0] [--db FILE]
//                 [--work DIR]
// --threads 0 means all cores. --quick: the `small` model at one thread (ctest's smoke run).
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/checked_workload.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "graph/tasks.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/onednn_reference.h"

namespace fleettune::bench {
namespace {

namespace fs = std::filesystem;

// Rounds of (our networks, then OpenCV) per model and thread count.
constexpr int kRounds = 3;

struct Options {
  bool quick = false;
  std::vector<std::string> models = {"resnet50", "mobilenet_v2"};
  std::vector<int> threads = {1, 0};
  std::string db;
  std::string work;
};

// Runs a shell command; its stdout, or the error naming the command and its status.
absl::StatusOr<std::string> Run(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("cannot run: ", command));
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) out.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0) {
    return absl::InternalError(absl::StrCat("exit status ", status, " from: ", command, "\n", out));
  }
  return out;
}

std::string Quote(const std::string& text) { return absl::StrCat("'", text, "'"); }

// A network built by `fleettune compile --model`, loaded and ready to call.
class LoadedNetwork {
 public:
  static absl::StatusOr<std::unique_ptr<LoadedNetwork>> Compile(const std::string& model,
                                                                const std::string& target,
                                                                const std::string& db,
                                                                const std::string& out,
                                                                const graph::Graph& graph) {
    absl::StatusOr<std::string> printed = Run(absl::StrCat(
        FLEETTUNE_BINARY, " compile --model ", Quote(model), " --target ", Quote(target), " --db ",
        Quote(db), " --symbol network -o ", Quote(out), " 2>&1"));
    if (!printed.ok()) return printed.status();
    auto network = std::make_unique<LoadedNetwork>();
    network->summary_ = *printed;
    network->handle_ = dlopen((out + ".so").c_str(), RTLD_NOW | RTLD_LOCAL);
    if (network->handle_ == nullptr) return absl::InternalError(dlerror());
    network->entry_ =
        reinterpret_cast<int32_t (*)(void* const*)>(dlsym(network->handle_, "network"));
    if (network->entry_ == nullptr) return absl::InternalError(dlerror());
    unsigned seed = 1;
    for (const std::string& name : graph.inputs) {
      network->buffers_.emplace_back(graph::NumElements(graph.tensor(name).shape));
      network->buffers_.back().FillRandom(seed++);
    }
    for (const std::string& name : graph.outputs) {
      network->buffers_.emplace_back(graph::NumElements(graph.tensor(name).shape));
    }
    for (AlignedBuffer& buffer : network->buffers_) network->args_.push_back(buffer.data());
    return network;
  }
  ~LoadedNetwork() {
    if (handle_ != nullptr) dlclose(handle_);
  }

  int32_t Call() const { return entry_(args_.data()); }
  // The buffers in argument order: inputs, then outputs.
  const std::vector<AlignedBuffer>& buffers() const { return buffers_; }
  const std::string& summary() const { return summary_; }

 private:
  void* handle_ = nullptr;
  int32_t (*entry_)(void* const*) = nullptr;
  std::vector<AlignedBuffer> buffers_;
  std::vector<void*> args_;
  std::string summary_;
};

// The relative error of the network's first output against OpenCV DNN's on the same input.
absl::StatusOr<double> CheckAgainstOpencv(const std::string& model, const graph::Graph& graph,
                                          const LoadedNetwork& network, const std::string& dir) {
  if (network.Call() != 0) return absl::InternalError("the network returned non-zero");
  std::string command =
      absl::StrCat("/usr/bin/python3 ", FLEETTUNE_OPENCV_SCRIPT, " run ", Quote(model));
  size_t arg = 0;
  for (const std::string& name : graph.inputs) {
    std::string path = absl::StrCat(dir, "/in", arg, ".bin");
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(network.buffers()[arg].data()),
               network.buffers()[arg].size() * sizeof(float));
    absl::StrAppend(&command, " --input ", Quote(path));
    ++arg;
  }
  for (size_t o = 0; o < graph.outputs.size(); ++o) {
    absl::StrAppend(&command, " --output ", Quote(absl::StrCat(dir, "/out", o, ".bin")));
  }
  if (absl::StatusOr<std::string> ran = Run(command + " 2>&1"); !ran.ok()) return ran.status();
  double worst = 0;
  for (size_t o = 0; o < graph.outputs.size(); ++o) {
    const AlignedBuffer& got = network.buffers()[graph.inputs.size() + o];
    std::vector<float> want(got.size());
    std::ifstream in(absl::StrCat(dir, "/out", o, ".bin"), std::ios::binary);
    in.read(reinterpret_cast<char*>(want.data()), want.size() * sizeof(float));
    if (static_cast<size_t>(in.gcount()) != want.size() * sizeof(float)) {
      return absl::InternalError("OpenCV's output has another size");
    }
    worst = std::max(worst, MaxRelativeError(got.data(), want.data(), want.size()));
  }
  return worst;
}

absl::StatusOr<double> OpencvMedianMs(const std::string& model, int threads, int repeat) {
  absl::StatusOr<std::string> json =
      Run(absl::StrCat("/usr/bin/python3 ", FLEETTUNE_OPENCV_SCRIPT, " time ", Quote(model),
                       " --threads ", threads, " --repeat ", repeat));
  if (!json.ok()) return json.status();
  const size_t at = json->find("\"median_ms\": ");
  double ms = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtod(json->substr(at + 13, json->find(',', at) - at - 13), &ms)) {
    return absl::InternalError(absl::StrCat("no median_ms in: ", *json));
  }
  return ms;
}

std::string Ms(double seconds) {
  return seconds > 0 ? absl::StrFormat("%.1f", seconds * 1e3) : "-";
}
std::string Ratio(double a, double b) {
  return a > 0 && b > 0 ? absl::StrFormat("%.2fx", a / b) : "-";
}

int RunBench(const Options& options) {
  const std::string work =
      options.work.empty() ? (fs::temp_directory_path() / "network_bench").string() : options.work;
  fs::create_directories(work);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  TimingOptions timing;
  timing.repeats = options.quick ? 3 : 7;
  timing.min_repeat_seconds = options.quick ? 0.01 : 0.2;
  std::printf("network_bench: %s; %d cores; medians of %d repeats\n", OnednnVersion().c_str(),
              cores, timing.repeats);
  Table table({"model", "threads", "defaults ms", "tuned ms", "OpenCV ms", "oneDNN sum ms",
               "OpenCV/defaults", "OpenCV/tuned", "oneDNN sum/tuned", "check"});
  bool all_checked = true;
  for (const std::string& name : options.models) {
    const std::string model = absl::StrCat(work, "/", name, ".onnx");
    if (!fs::exists(model)) {
      absl::StatusOr<std::string> wrote = Run(absl::StrCat(
          "/usr/bin/python3 ", FLEETTUNE_WRITE_MODEL, " ", name, " ", Quote(model), " 2>&1"));
      if (!wrote.ok()) {
        std::fprintf(stderr, "network_bench: %s\n", wrote.status().ToString().c_str());
        return 1;
      }
    }
    absl::StatusOr<graph::Graph> graph = graph::ImportOnnx(model, {});
    if (!graph.ok()) {
      std::fprintf(stderr, "network_bench: %s\n", graph.status().ToString().c_str());
      return 1;
    }
    graph::RunPasses(*graph);
    const graph::Tasks tasks = graph::ExtractTasks(*graph);
    for (int requested : options.threads) {
      const int threads = requested > 0 ? requested : cores;
      const std::string target = absl::StrCat("host -threads=", threads);
      const std::string stem = absl::StrCat(work, "/", name, "_t", threads);
      std::vector<std::unique_ptr<LoadedNetwork>> networks;
      std::vector<std::string> dbs = {stem + "_no.db"};
      if (!options.db.empty()) dbs.push_back(options.db);
      for (size_t i = 0; i < dbs.size(); ++i) {
        absl::StatusOr<std::unique_ptr<LoadedNetwork>> network = LoadedNetwork::Compile(
            model, target, dbs[i], absl::StrCat(stem, i == 0 ? "_defaults" : "_tuned"), *graph);
        if (!network.ok()) {
          std::fprintf(stderr, "network_bench: %s\n", network.status().ToString().c_str());
          return 1;
        }
        networks.push_back(std::move(*network));
      }
      std::string check;
      for (const auto& network : networks) {
        absl::StatusOr<double> error = CheckAgainstOpencv(model, *graph, *network, work);
        const bool ok = error.ok() && *error <= 1e-3;
        all_checked &= ok;
        absl::StrAppend(&check, check.empty() ? "" : " ",
                        error.ok() ? absl::StrFormat("%.1e", *error) : "error", ok ? "" : "!");
        if (!error.ok()) std::fprintf(stderr, "%s\n", error.status().ToString().c_str());
      }
      std::vector<Contestant> contestants;
      for (size_t i = 0; i < networks.size(); ++i) {
        contestants.push_back({i == 0 ? "defaults" : "tuned", [&, i] { networks[i]->Call(); }});
      }
      // Rounds of our networks (interleaved with each other) and OpenCV in turn, medians over
      // the rounds: a machine whose speed drifts from minute to minute slows both alike.
      const int rounds = options.quick ? 1 : kRounds;
      std::vector<std::vector<double>> ours(contestants.size());
      std::vector<double> opencv_rounds;
      absl::StatusOr<double> opencv_ms = absl::UnknownError("not timed");
      for (int round = 0; round < rounds; ++round) {
        TimeInterleaved(&contestants, timing, 0.05);
        for (size_t i = 0; i < contestants.size(); ++i) ours[i].push_back(contestants[i].seconds);
        opencv_ms = OpencvMedianMs(model, threads, timing.repeats * 2);
        if (!opencv_ms.ok()) break;
        opencv_rounds.push_back(*opencv_ms);
      }
      for (size_t i = 0; i < contestants.size(); ++i) contestants[i].seconds = Median(ours[i]);
      if (opencv_ms.ok()) opencv_ms = Median(opencv_rounds);
      double onednn_sum = 0;
      for (const graph::Task& task : tasks.tasks) {
        absl::StatusOr<codegen::CheckedWorkload> workload =
            codegen::CheckedWorkload::Parse(task.workload);
        const double seconds = workload.ok() ? OnednnLayerSeconds(*workload, threads, timing) : -1;
        if (seconds < 0) {
          onednn_sum = -1;
          break;
        }
        onednn_sum += seconds * task.count;
      }
      const double defaults = contestants[0].seconds;
      const double tuned = contestants.size() > 1 ? contestants[1].seconds : -1;
      const double opencv = opencv_ms.ok() ? *opencv_ms / 1e3 : -1;
      table.AddRow({name, absl::StrCat(threads), Ms(defaults), Ms(tuned), Ms(opencv),
                    Ms(onednn_sum), Ratio(opencv, defaults), Ratio(opencv, tuned),
                    Ratio(onednn_sum, tuned), check});
    }
  }
  table.Print();
  std::printf(
      "defaults/tuned: fleettune compile --model (tuned: --db %s); OpenCV: DNN 4.6 on the same "
      "file; oneDNN sum: each tunable layer's fastest oneDNN time x its count (layers only: no "
      "pooling, softmax or copies); check: relative error vs OpenCV (limit 1e-3).\n",
      options.db.empty() ? "not given" : options.db.c_str());
  return all_checked ? 0 : 1;
}

}  // namespace
}  // namespace fleettune::bench

int main(int argc, char** argv) {
  fleettune::bench::Options options;
  std::string models, threads;
  CLI::App app{"Whole networks vs OpenCV DNN and oneDNN's per-layer sum (issue #20)"};
  app.add_flag("--quick", options.quick, "the small model at one thread (smoke run)");
  app.add_option("--models", models, "comma-separated write_model.py names");
  app.add_option("--threads", threads, "comma-separated thread counts (0: all cores)");
  app.add_option("--db", options.db, "tuning database for the tuned column");
  app.add_option("--work", options.work, "directory for models and built networks");
  CLI11_PARSE(app, argc, argv);
  if (options.quick) {
    options.models = {"small"};
    options.threads = {1};
  }
  if (!models.empty()) options.models = absl::StrSplit(models, ',');
  if (!threads.empty()) {
    options.threads.clear();
    for (absl::string_view part : absl::StrSplit(threads, ',')) {
      int value = 0;
      if (!absl::SimpleAtoi(part, &value) || value < 0) {
        std::fprintf(stderr, "network_bench: --threads: bad value '%s'\n",
                     std::string(part).c_str());
        return 2;
      }
      options.threads.push_back(value);
    }
  }
  return fleettune::bench::RunBench(options);
}
