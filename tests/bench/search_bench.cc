// Model-guided search benchmark (issue #4): how many trials random and xgb search need to
// reach 95% of the best throughput, on measured tables.
//
// Measuring thousands of trials on real boards does not fit a benchmark run, so each
// workload gets a measured table once: a fixed random sample of its search space (the
// template default included), each config built with codegen::BuildKernel and timed here on
// one thread (TimeMedian). Tables are cached under --cache (the build dir) and reused. The
// searches then run against the tables: the space of the benchmark is the table (a one-knob
// space whose value is the row; the model sees the real config's loop-nest features), so
// every trial's throughput is a real measurement. Reports, per workload and over --seeds
// seeds, the median trials to reach 95% of the table's best for random, xgb and xgb with
// transfer (trained from the first round on the other shapes' tables of the same op); the
// model's ranking quality on held-out rows (Kendall tau, top-10 recall); and the share of a
// 500-trial job's time the model and search take in a real-sized space.
//
//   search_bench [--quick] [--cache DIR] [--configs N] [--seeds S]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "cost_model/features.h"
#include "cost_model/xgb_model.h"
#include "rpc_server/kernel_library.h"
#include "tests/bench/bench_util.h"
#include "tuner/search.h"
#include "tuner/xgb_search.h"

namespace fleettune::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One measured config of a table.
struct Row {
  uint64_t index = 0;  // in the workload's search space
  double gflops = 0;   // 0: failed to build or run
  double build_seconds = 0, measure_seconds = 0;
};

struct MeasuredTable {
  std::string workload_text;
  v1::Workload workload;
  std::vector<Row> rows;
  double best = 0;
};

std::string CacheName(const std::string& workload, int configs) {
  std::string name = absl::StrReplaceAll(workload, {{":", "_"}, {",", "_"}, {"=", ""}});
  return absl::StrCat(name, "_n", configs, ".tsv");
}

// Measures `configs` random configs of the workload (the default first), or reads them from
// the cache.
absl::StatusOr<MeasuredTable> MeasureTable(const std::string& text, const v1::Target& target,
                                           int configs, const std::filesystem::path& cache,
                                           const TimingOptions& timing) {
  MeasuredTable table;
  table.workload_text = text;
  absl::StatusOr<v1::Workload> workload = codegen::ParseWorkload(text);
  if (!workload.ok()) return workload.status();
  table.workload = *workload;
  const std::filesystem::path file = cache / CacheName(text, configs);
  if (std::ifstream in(file); in) {
    Row row;
    while (in >> row.index >> row.gflops >> row.build_seconds >> row.measure_seconds) {
      table.rows.push_back(row);
    }
    if (!table.rows.empty()) {  // min(configs, space size) rows
      for (const Row& r : table.rows) table.best = std::max(table.best, r.gflops);
      return table;
    }
    table.rows.clear();
  }
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(*workload, target);
  if (!space.ok()) return space.status();
  std::vector<uint64_t> indices;
  std::set<uint64_t> taken;
  if (absl::StatusOr<uint64_t> index = space->IndexOf(space->DefaultConfig()); index.ok()) {
    indices.push_back(*index);
    taken.insert(*index);
  }
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<uint64_t> pick(0, space->size() - 1);
  while (static_cast<int>(indices.size()) < std::min<uint64_t>(configs, space->size())) {
    const uint64_t index = pick(rng);
    if (taken.insert(index).second) indices.push_back(index);
  }
  std::vector<AlignedBuffer> buffers;
  std::vector<void*> args;
  for (const v1::TensorSpec& tensor : codegen::WorkloadTensors(*workload)) {
    size_t elements = 1;
    for (int64_t d : tensor.shape()) elements *= static_cast<size_t>(d);
    buffers.emplace_back(elements);
    buffers.back().FillRandom(static_cast<unsigned>(buffers.size()));
    args.push_back(buffers.back().data());
  }
  const double flops = codegen::WorkloadFlops(*workload);
  std::fprintf(stderr, "measuring %zu configs of %s (cached in %s)\n", indices.size(), text.c_str(),
               file.c_str());
  // Builds two at a time, then times them one by one on an otherwise idle process.
  for (size_t begin = 0; begin < indices.size(); begin += 2) {
    const size_t end = std::min(indices.size(), begin + 2);
    std::vector<absl::StatusOr<codegen::BuiltKernel>> built(end - begin,
                                                            absl::UnknownError("not built"));
    std::vector<double> build_seconds(end - begin);
    std::vector<std::thread> threads;
    for (size_t i = begin; i < end; ++i) {
      threads.emplace_back([&, i] {
        auto start = Clock::now();
        built[i - begin] = codegen::BuildKernel(*workload, target, space->ConfigAt(indices[i]));
        build_seconds[i - begin] = SecondsSince(start);
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (size_t i = begin; i < end; ++i) {
      Row row;
      row.index = indices[i];
      row.build_seconds = build_seconds[i - begin];
      if (built[i - begin].ok()) {
        absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> library =
            rpc_server::KernelLibrary::Load(built[i - begin]->shared_object,
                                            built[i - begin]->symbol);
        if (library.ok()) {
          auto function = (*library)->function();
          auto start = Clock::now();
          const double seconds = TimeMedian([&] { function(args.data()); }, timing);
          row.measure_seconds = SecondsSince(start);
          row.gflops = seconds > 0 ? flops / seconds / 1e9 : 0;
        }
      }
      table.rows.push_back(row);
      if (table.rows.size() % 25 == 0) {
        std::fprintf(stderr, "  %zu/%zu measured\n", table.rows.size(), indices.size());
      }
    }
  }
  std::filesystem::create_directories(cache);
  std::ofstream out(file);
  for (const Row& row : table.rows) {
    out << row.index << ' ' << row.gflops << ' ' << row.build_seconds << ' ' << row.measure_seconds
        << '\n';
  }
  for (const Row& r : table.rows) table.best = std::max(table.best, r.gflops);
  return table;
}

// Loop-nest + knob features of every row.
std::vector<std::vector<float>> TableFeatures(const MeasuredTable& table,
                                              const v1::Target& target) {
  codegen::SearchSpace space = *codegen::SearchSpaceFor(table.workload, target);
  std::vector<std::vector<float>> rows;
  for (const Row& row : table.rows) {
    rows.push_back(cost_model::ConfigFeatures(table.workload, target, space.ConfigAt(row.index)));
  }
  return rows;
}

// The benchmark's space: one knob whose value is the table row.
codegen::SearchSpace RowSpace(size_t rows) {
  codegen::Knob knob{"row", {}, "table row"};
  for (size_t i = 0; i < rows; ++i) knob.choices.push_back(static_cast<int64_t>(i));
  v1::Config default_config;
  default_config.set_template_name("table");
  auto* entry = default_config.add_knobs();
  entry->set_name("row");
  entry->set_value(0);
  return codegen::SearchSpace("table", {knob}, default_config);
}

// Trials until a config within 95% of the table's best was measured (budget + 1: never).
int TrialsTo95(tuner::Search& search, const MeasuredTable& table, int budget) {
  int trials = 0;
  while (trials < budget) {
    std::vector<uint64_t> batch = search.Propose(8);
    if (batch.empty()) break;
    for (uint64_t row : batch) {
      ++trials;
      const double gflops = table.rows[row].gflops;
      if (gflops >= 0.95 * table.best) return trials;
      search.Observe(row, gflops);
    }
  }
  return budget + 1;
}

double KendallTau(const std::vector<float>& predicted, const std::vector<double>& actual) {
  double concordant = 0, discordant = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    for (size_t j = i + 1; j < actual.size(); ++j) {
      const double a = (predicted[i] - predicted[j]) * (actual[i] - actual[j]);
      if (a > 0) ++concordant;
      if (a < 0) ++discordant;
    }
  }
  const double pairs = concordant + discordant;
  return pairs > 0 ? (concordant - discordant) / pairs : 0;
}

// Of the k truly fastest held-out rows, the share the model puts in its own top k.
double TopKRecall(const std::vector<float>& predicted, const std::vector<double>& actual, int k) {
  std::vector<size_t> by_actual(actual.size()), by_predicted(actual.size());
  for (size_t i = 0; i < actual.size(); ++i) by_actual[i] = by_predicted[i] = i;
  k = std::min<int>(k, static_cast<int>(actual.size()));
  std::sort(by_actual.begin(), by_actual.end(),
            [&](size_t a, size_t b) { return actual[a] > actual[b]; });
  std::sort(by_predicted.begin(), by_predicted.end(),
            [&](size_t a, size_t b) { return predicted[a] > predicted[b]; });
  std::set<size_t> top(by_actual.begin(), by_actual.begin() + k);
  int hits = 0;
  for (int i = 0; i < k; ++i) hits += top.count(by_predicted[i]) > 0;
  return k > 0 ? static_cast<double>(hits) / k : 0;
}

struct OpSet {
  std::string op;
  std::vector<std::string> workloads;
};

int Main(int argc, char** argv) {
  CLI::App app{"model-guided search vs random on measured tables (issue #4)"};
  bool quick = false;
  std::string cache = "search_bench_tables";
  int configs = 0, seeds = 0;
  app.add_flag("--quick", quick, "tiny shapes and tables: a smoke run");
  app.add_option("--cache", cache, "directory of the measured tables")->capture_default_str();
  app.add_option("--configs", configs, "configs measured per workload (default 100; quick 40)");
  app.add_option("--seeds", seeds, "seeds per search (default 7; quick 3)");
  CLI11_PARSE(app, argc, argv);
  if (configs <= 0) configs = quick ? 40 : 100;
  if (seeds <= 0) seeds = quick ? 3 : 7;
  const v1::Target target = *codegen::ParseTarget("host -threads=1");
  // Hopeless configs (a warm-up call over 50 ms) are not timed further: their warm-up counts.
  const TimingOptions timing = quick ? TimingOptions{0.005, 3, 0.05} : TimingOptions{0.01, 3, 0.05};

  std::vector<OpSet> sets;
  if (quick) {
    sets = {{"matmul", {"matmul:m=48,n=48,k=48", "matmul:m=64,n=32,k=64"}}};
  } else {
    sets = {{"matmul", {"matmul:m=256,n=256,k=256", "matmul:m=512,n=256,k=256"}},
            {"conv2d",
             {"conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1",
              "conv2d:n=1,c=128,h=28,w=28,k=128,r=3,s=3,stride=1,pad=1"}},
            {"depthwise_conv2d",
             {"depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=1,pad=1",
              "depthwise_conv2d:n=1,c=144,h=56,w=56,r=3,s=3,stride=1,pad=1"}}};
  }

  bench::Table report({"workload", "configs", "best GFLOPS", "random", "xgb", "xgb+transfer",
                       "xgb/random", "transfer/xgb", "tau", "top10 recall"});
  std::vector<double> xgb_ratios, transfer_ratios, taus, recalls, trial_costs;
  bool failed = false;
  for (const OpSet& set : sets) {
    std::vector<MeasuredTable> tables;
    std::vector<std::vector<std::vector<float>>> features;
    for (const std::string& text : set.workloads) {
      absl::StatusOr<MeasuredTable> table = MeasureTable(text, target, configs, cache, timing);
      if (!table.ok()) {
        std::cerr << "search_bench: " << text << ": " << table.status() << "\n";
        return 1;
      }
      for (const Row& row : table->rows)
        trial_costs.push_back(row.build_seconds / 2 + row.measure_seconds);
      features.push_back(TableFeatures(*table, target));
      tables.push_back(*std::move(table));
    }
    for (size_t w = 0; w < tables.size(); ++w) {
      const MeasuredTable& table = tables[w];
      if (table.best <= 0) {
        failed = true;
        continue;
      }
      const int budget = static_cast<int>(table.rows.size());
      const codegen::SearchSpace space = RowSpace(table.rows.size());
      tuner::TransferData transfer;
      for (size_t other = 0; other < tables.size(); ++other) {
        if (other == w) continue;
        for (size_t r = 0; r < tables[other].rows.size(); ++r) {
          transfer.rows.push_back(features[other][r]);
          transfer.throughput.push_back(static_cast<float>(tables[other].rows[r].gflops));
        }
        transfer.group_sizes.push_back(static_cast<unsigned>(tables[other].rows.size()));
      }
      const std::vector<std::vector<float>>& rows = features[w];
      std::vector<double> random_trials, xgb_trials, transfer_trials;
      for (int seed = 1; seed <= seeds; ++seed) {
        auto random = *tuner::MakeSearch("random", space, seed);
        random_trials.push_back(TrialsTo95(*random, table, budget));
        tuner::XgbSearchOptions options;
        options.seed = seed;
        options.features = [&rows](const v1::Config& config) {
          return rows[config.knobs(0).value()];
        };
        auto xgb = *tuner::XgbSearch::Create(space, options);
        xgb_trials.push_back(TrialsTo95(*xgb, table, budget));
        auto warm = *tuner::XgbSearch::Create(space, options);
        warm->SetTransferData(transfer);
        transfer_trials.push_back(TrialsTo95(*warm, table, budget));
      }
      // Ranking quality: fit on a random half of the table, rank the other half.
      std::vector<size_t> order(table.rows.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
      std::vector<std::vector<float>> train, test;
      std::vector<float> train_y;
      std::vector<double> test_y;
      for (size_t i = 0; i < order.size(); ++i) {
        (i % 2 == 0 ? train : test).push_back(rows[order[i]]);
        if (i % 2 == 0)
          train_y.push_back(static_cast<float>(table.rows[order[i]].gflops));
        else
          test_y.push_back(table.rows[order[i]].gflops);
      }
      auto model = *cost_model::XgbModel::Create({});
      double tau = 0, recall = 0;
      if (model->Fit(train, train_y).ok()) {
        std::vector<float> predicted = *model->Predict(test);
        tau = KendallTau(predicted, test_y);
        recall = TopKRecall(predicted, test_y, 10);
      }
      taus.push_back(tau);
      recalls.push_back(recall);
      const double r = Median(random_trials), x = Median(xgb_trials), t = Median(transfer_trials);
      xgb_ratios.push_back(x / r);
      transfer_ratios.push_back(t / x);
      report.AddRow({table.workload_text, std::to_string(table.rows.size()),
                     FormatGflops(table.best), absl::StrFormat("%.0f", r),
                     absl::StrFormat("%.0f", x), absl::StrFormat("%.0f", t),
                     absl::StrFormat("%.2f", x / r), absl::StrFormat("%.2f", t / x),
                     absl::StrFormat("%.2f", tau), absl::StrFormat("%.1f", recall)});
    }
  }
  std::cout << "\nTrials to reach 95% of the table's best (median over " << seeds
            << " seeds; budget = the table; batches of 8)\n";
  report.Print();
  std::cout << absl::StrFormat(
      "median xgb/random %.2f (goal <= 0.25); median transfer/xgb %.2f (goal <= 0.5); "
      "median Kendall tau %.2f, top-10 recall %.2f on held-out halves\n",
      Median(xgb_ratios), Median(transfer_ratios), Median(taus), Median(recalls));

  // Model + search share of a 500-trial job in a real-sized space (the first conv2d or
  // matmul workload's full space, loop-nest features), against the measured cost of a trial.
  // matmul: its space has thousands of configs (conv2d's has about a hundred).
  const std::string real = sets[0].workloads[0];
  const v1::Workload workload = *codegen::ParseWorkload(real);
  const codegen::SearchSpace space = *codegen::SearchSpaceFor(workload, target);
  tuner::XgbSearchOptions options;
  options.seed = 1;
  options.features = [&](const v1::Config& config) {
    return cost_model::ConfigFeatures(workload, target, config);
  };
  auto search = *tuner::XgbSearch::Create(space, options);
  const int job_trials = quick ? 64 : 500;
  std::mt19937_64 noise(3);
  int done = 0;
  auto start = Clock::now();
  while (done < job_trials) {
    std::vector<uint64_t> batch = search->Propose(8);
    if (batch.empty()) break;
    for (uint64_t index : batch) {
      // Throughput stand-in: the loop-nest features are real, the values need not be.
      search->Observe(index, static_cast<double>(noise() % 1000) / 10.0);
      ++done;
    }
  }
  const double model_seconds = search->model_seconds() + search->planning_seconds();
  const double total = SecondsSince(start);
  const double per_trial = Median(trial_costs);
  const double job_seconds = per_trial * done;
  std::cout << absl::StrFormat(
      "\n%d-trial xgb job on %s (space of %llu configs): model fit %.1f s + planning %.1f s = "
      "%.1f s (%.1f s in the loop); a trial costs %.3f s (median measured build/2 builders + "
      "timing), so the job measures for %.0f s: model+search share %.1f%% (goal < 10%%)\n",
      done, real, static_cast<unsigned long long>(space.size()), search->model_seconds(),
      search->planning_seconds(), model_seconds, total, per_trial, job_seconds,
      100.0 * model_seconds / (model_seconds + job_seconds));
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace fleettune::bench

int main(int argc, char** argv) { return fleettune::bench::Main(argc, argv); }
