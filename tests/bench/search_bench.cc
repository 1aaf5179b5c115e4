// Model-guided search benchmark (issue #4): how many trials random and xgb search need to
// reach 95% of the best throughput, on measured tables.
//
// Measuring thousands of trials on real boards does not fit a benchmark run, so each
// workload gets a measured table once: its whole search space when that has at most
// --full-limit configs (conv2d_nchwc, depthwise), else --configs configs sampled uniformly
// (matmul_blocked's and conv2d_im2col's thousands; the template default always included).
// Each config is built with codegen::BuildKernel and timed here on one thread (TimeMedian):
// measure on an otherwise idle machine, a loaded one changes configs' throughput by up to
// 3x. Tables (measured_table.h) are cached under --cache (the build dir), keyed by the version, the
// template and the space size, so a table of changed templates is measured again. The searches then
// run against the tables, restricted to them: xgb searches the real space with the table's indices
// as its only candidates (XgbSearchOptions::candidates), so knob distances, the template default
// and the loop-nest features are the real ones, and every trial's throughput is a real measurement.
// Reports, per workload and over --seeds seeds, the median trials to reach 95% of the table's best
// (and the template default's share of it) for random, xgb, xgb with transfer (trained from the
// first round on the other shapes' tables of the same template, as a job takes the database's
// records, and warm-started with their best configs where the target's table holds them) and both
// of those without the template default in their first round ("-d": what the model finds on its
// own); the model's ranking quality on held-out rows (Kendall tau and top-10 recall, trained on
// half the table; tau also trained on 64 rows, the size a search works with); and an estimate of
// the share of a 500-trial job's time the model and search take in a real-sized space (a real
// `fleettune tune` run reports it exactly: docs/decisions.md, #4).
//
//   search_bench [--quick] [--cache DIR] [--configs N] [--full-limit N] [--seeds S]
//                [--seed-base B] [--only OP] [model and search options, see --help]
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "codegen/build.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "cost_model/features.h"
#include "cost_model/xgb_model.h"
#include "rpc_server/kernel_library.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/measured_table.h"
#include "tuner/search.h"
#include "tuner/xgb_search.h"
#include "util/seconds_since.h"

namespace fleettune::bench {
namespace {

using util::SecondsSince;

using Clock = std::chrono::steady_clock;

// Features of a config: "all" (cost_model::ConfigFeatures, what the tuner uses), or for
// ablation "knobs" (KnobFeatures only) or "nest" (the loop-nest part only).
std::vector<float> Featurize(const std::string& kind, const codegen::CheckedWorkload& workload,
                             const codegen::CheckedTarget& target, const v1::Config& config) {
  if (kind == "knobs") return cost_model::KnobFeatures(config);
  std::vector<float> row = cost_model::ConfigFeatures(workload, target, config);
  if (kind == "nest") row.resize(cost_model::LoopNestFeatureCount());
  return row;
}

// Features of every row.
std::vector<std::vector<float>> TableFeatures(const MeasuredTable& table,
                                              const codegen::CheckedTarget& target,
                                              const std::string& kind) {
  codegen::SearchSpace space = *codegen::SearchSpaceFor(table.workload, target);
  std::vector<std::vector<float>> rows;
  for (const Row& row : table.rows) {
    rows.push_back(Featurize(kind, table.workload, target, space.ConfigAt(row.index)));
  }
  return rows;
}

// The random baseline's space: one knob whose value is the table row (uniform over rows is
// uniform over the table).
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
// `gflops_of` maps a proposed index to its measured throughput.
int TrialsTo95(tuner::Search& search, const std::function<double(uint64_t)>& gflops_of, double best,
               int budget, int batch_size) {
  int trials = 0;
  while (trials < budget) {
    std::vector<uint64_t> batch = search.Propose(batch_size);
    if (batch.empty()) break;
    for (uint64_t index : batch) {
      ++trials;
      const double gflops = gflops_of(index);
      if (gflops >= 0.95 * best) return trials;
      search.Observe(index, gflops);
    }
  }
  return budget + 1;
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

struct Ranking {
  double tau = 0, recall = 0;
};

// Fits the search's model on `train` rows of a shuffled table, ranks the rest.
Ranking HeldOutRanking(const std::vector<std::vector<float>>& features, const MeasuredTable& table,
                       size_t train, const cost_model::XgbOptions& options, uint64_t seed) {
  std::vector<size_t> order(table.rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  train = std::min(train, order.size() / 2);
  std::vector<std::vector<float>> train_x, test_x;
  std::vector<float> train_y;
  std::vector<double> test_y;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i < train) {
      train_x.push_back(features[order[i]]);
      train_y.push_back(static_cast<float>(table.rows[order[i]].gflops));
    } else {
      test_x.push_back(features[order[i]]);
      test_y.push_back(table.rows[order[i]].gflops);
    }
  }
  Ranking ranking;
  auto model = *cost_model::XgbModel::Create(options);
  if (model->Fit(train_x, train_y).ok()) {
    std::vector<float> predicted = *model->Predict(test_x);
    ranking.tau =
        cost_model::KendallTau(predicted, std::vector<float>(test_y.begin(), test_y.end()));
    ranking.recall = TopKRecall(predicted, test_y, 10);
  }
  return ranking;
}

struct OpSet {
  std::string op;
  std::vector<std::string> workloads;
};

int Main(int argc, char** argv) {
  CLI::App app{"model-guided search vs random on measured tables (issue #4)"};
  bool quick = false;
  std::string cache = "search_bench_tables", only, feature_kind = "all";
  int configs = 0, seeds = 0, batch = 8;
  uint64_t full_limit = 0, seed_base = 1;
  tuner::XgbSearchOptions base;  // what the flags below change
  app.add_flag("--quick", quick, "tiny shapes and tables: a smoke run");
  app.add_option("--cache", cache, "directory of the measured tables")->capture_default_str();
  app.add_option("--configs", configs,
                 "configs sampled per workload whose space exceeds --full-limit (default 1000; "
                 "quick 40)");
  app.add_option("--full-limit", full_limit,
                 "spaces up to this size are measured whole (default 600; quick 0)");
  app.add_option("--seeds", seeds, "seeds per search (default 25; quick 3)");
  app.add_option("--seed-base", seed_base, "first seed")->capture_default_str();
  app.add_option("--only", only, "run only this op's workloads");
  app.add_option("--batch", batch, "proposals per round")->capture_default_str();
  app.add_option("--features", feature_kind, "all, knobs or nest (ablation)")
      ->check(CLI::IsMember({"all", "knobs", "nest"}))
      ->capture_default_str();
  app.add_option("--objective", base.objective)->capture_default_str();
  app.add_option("--depth", base.model.max_depth)->capture_default_str();
  app.add_option("--eta", base.model.eta)->capture_default_str();
  app.add_option("--rounds", base.model.num_rounds)->capture_default_str();
  app.add_option("--min-child-weight", base.model.min_child_weight)->capture_default_str();
  app.add_option("--colsample", base.model.colsample_bytree)->capture_default_str();
  app.add_option("--epsilon", base.epsilon)->capture_default_str();
  app.add_option("--min-observations", base.min_observations)->capture_default_str();
  app.add_option("--min-distance", base.min_distance)->capture_default_str();
  app.add_option("--own-influence", base.own_influence)->capture_default_str();
  app.add_option("--source-relevance", base.source_relevance)->capture_default_str();
  app.add_option("--relevance-rows", base.relevance_rows)->capture_default_str();
  app.add_option("--propose-default", base.propose_default)->capture_default_str();
  app.add_option("--local-share", base.local_share)->capture_default_str();
  app.add_option("--local-radius", base.local_radius)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (configs <= 0) configs = quick ? 40 : 1000;
  if (full_limit == 0 && !quick) full_limit = 600;
  if (seeds <= 0) seeds = quick ? 3 : 25;
  const codegen::CheckedTarget target = *codegen::CheckedTarget::Parse("host -threads=1");
  // Hopeless configs (a warm-up call over 50 ms) are not timed further: their warm-up counts.
  const TimingOptions timing = quick ? TimingOptions{0.005, 3, 0.05} : TimingOptions{0.01, 3, 0.05};
  cost_model::XgbOptions model_options = base.model;
  model_options.objective = base.objective;

  std::vector<OpSet> sets;
  if (quick) {
    sets = {{"matmul", {"matmul:m=48,n=48,k=48", "matmul:m=64,n=32,k=64"}}};
  } else {
    // ResNet 3x3 layers (conv2d_nchwc, spaces of 96) and ResNet-50's 1x1 bottleneck layers,
    // two thirds of its convolutions (conv2d_im2col, thousands of configs: 1,000 sampled);
    // MobileNetV2 depthwise layers; two small matmuls and BERT-large's at sequence length
    // 128. The 1,000-config samples take most of the first run's measuring. Four were held
    // out when the template defaults were chosen (docs/codegen.md): BERT-large's
    // feed-forward output matmul, VGG-16's 3x3 256@56 and a MobileNetV2 1x1 expansion, a
    // MobileNetV1 depthwise layer. Six were added later as further unseen layers:
    // BERT-large's attention output and feed-forward input matmuls,
    // ResNet-50's 3x3 512@7 and its 7x7 stem, two stride-2 MobileNetV2 depthwise layers.
    sets = {{"matmul",
             {"matmul:m=256,n=256,k=256", "matmul:m=512,n=256,k=256", "matmul:m=128,n=1024,k=1024",
              "matmul:m=128,n=4096,k=1024", "matmul:m=128,n=1024,k=4096"}},
            {"conv2d",
             {"conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1",
              "conv2d:n=1,c=128,h=28,w=28,k=128,r=3,s=3,stride=1,pad=1",
              "conv2d:n=1,c=256,h=14,w=14,k=256,r=3,s=3,stride=1,pad=1",
              "conv2d:n=1,c=256,h=56,w=56,k=64,r=1,s=1,stride=1,pad=0",
              "conv2d:n=1,c=512,h=28,w=28,k=128,r=1,s=1,stride=1,pad=0",
              "conv2d:n=1,c=1024,h=14,w=14,k=256,r=1,s=1,stride=1,pad=0",
              "conv2d:n=1,c=256,h=56,w=56,k=256,r=3,s=3,stride=1,pad=1",
              "conv2d:n=1,c=24,h=56,w=56,k=144,r=1,s=1,stride=1,pad=0",
              "conv2d:n=1,c=512,h=7,w=7,k=512,r=3,s=3,stride=1,pad=1",
              "conv2d:n=1,c=3,h=224,w=224,k=64,r=7,s=7,stride=2,pad=3"}},
            {"depthwise_conv2d",
             {"depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=1,pad=1",
              "depthwise_conv2d:n=1,c=144,h=56,w=56,r=3,s=3,stride=1,pad=1",
              "depthwise_conv2d:n=1,c=192,h=28,w=28,r=3,s=3,stride=1,pad=1",
              "depthwise_conv2d:n=1,c=256,h=28,w=28,r=3,s=3,stride=1,pad=1",
              "depthwise_conv2d:n=1,c=96,h=112,w=112,r=3,s=3,stride=2,pad=1",
              "depthwise_conv2d:n=1,c=144,h=56,w=56,r=3,s=3,stride=2,pad=1"}}};
  }
  if (!only.empty()) {
    sets.erase(
        std::remove_if(sets.begin(), sets.end(), [&](const OpSet& set) { return set.op != only; }),
        sets.end());
    if (sets.empty()) {
      std::cerr << "search_bench: --only " << only << ": no such op in the benchmark\n";
      return 1;
    }
  }

  bench::Table report({"workload", "rows/space", "best GFLOPS", ">=95%", "default", "random", "xgb",
                       "xgb+transfer", "xgb/random", "transfer/xgb", "xgb-d", "transfer-d",
                       "xgb-d/random", "transfer-d/xgb-d", "tau", "tau@64", "top10 recall"});
  // "-d": without the template default in the first round (what the model finds on its own).
  std::vector<double> xgb_ratios, transfer_ratios, model_ratios, model_transfer_ratios, taus,
      taus64, recalls, trial_costs;
  // The same ratios over the workloads whose template default is below 95% of the best: on
  // the others every search that starts with the default needs one trial, a ratio of 1/1
  // by construction.
  std::vector<double> missed_xgb_ratios, missed_transfer_ratios;
  // Each workload's median trials, summed over the workloads: the trials a user tuning the
  // whole set would spend (a workload where both need one trial weighs one trial, not a 1.00).
  double sum_random = 0, sum_xgb = 0, sum_transfer = 0;
  std::vector<std::string> missed;
  double measuring = 0;
  bool failed = false;
  double search_wall = 0;
  double feature_seconds = 0;  // the cost model's features of every table row
  size_t feature_rows = 0;
  for (const OpSet& set : sets) {
    std::vector<MeasuredTable> tables;
    std::vector<std::vector<std::vector<float>>> features;
    for (const std::string& text : set.workloads) {
      absl::StatusOr<MeasuredTable> table =
          MeasureTable(text, target, configs, full_limit, cache, timing);
      if (!table.ok()) {
        std::cerr << "search_bench: " << text << ": " << table.status() << "\n";
        return 1;
      }
      measuring += table->measure_seconds;
      for (const Row& row : table->rows)
        trial_costs.push_back(row.build_seconds / 2 + row.measure_seconds);
      const auto feature_start = Clock::now();
      features.push_back(TableFeatures(*table, target, feature_kind));
      feature_seconds += SecondsSince(feature_start);
      feature_rows += table->rows.size();
      tables.push_back(*std::move(table));
    }
    const auto set_start = Clock::now();
    for (size_t w = 0; w < tables.size(); ++w) {
      const MeasuredTable& table = tables[w];
      if (table.best <= 0) {
        failed = true;
        continue;
      }
      const int budget = static_cast<int>(table.rows.size());
      const codegen::SearchSpace rows_space = RowSpace(table.rows.size());
      const codegen::SearchSpace space = *codegen::SearchSpaceFor(table.workload, target);
      tuner::TransferData transfer;
      for (size_t other = 0; other < tables.size(); ++other) {
        // Like a tuning job: other shapes of the op that take the same template.
        if (other == w || tables[other].template_name != table.template_name) continue;
        const codegen::SearchSpace other_space =
            *codegen::SearchSpaceFor(tables[other].workload, target);
        for (size_t r = 0; r < tables[other].rows.size(); ++r) {
          transfer.rows.push_back(features[other][r]);
          transfer.throughput.push_back(static_cast<float>(tables[other].rows[r].gflops));
          transfer.configs.push_back(other_space.ConfigAt(tables[other].rows[r].index));
        }
        transfer.group_sizes.push_back(static_cast<unsigned>(tables[other].rows.size()));
      }
      const std::vector<std::vector<float>>& rows = features[w];
      std::vector<uint64_t> candidates;
      for (const Row& row : table.rows) candidates.push_back(row.index);
      const auto row_gflops = [&](uint64_t row) { return table.rows[row].gflops; };
      const auto index_gflops = [&](uint64_t index) {
        return table.rows[table.row_of.at(index)].gflops;
      };
      int good = 0;
      for (const Row& row : table.rows) good += row.gflops >= 0.95 * table.best;
      double default_share = 0;  // the template default's throughput / the table's best
      if (absl::StatusOr<uint64_t> index = space.IndexOf(space.DefaultConfig()); index.ok()) {
        if (auto found = table.row_of.find(*index); found != table.row_of.end()) {
          default_share = table.rows[found->second].gflops / table.best;
        }
      }
      std::vector<double> random_trials, xgb_trials, transfer_trials, model_trials,
          model_transfer_trials;
      for (uint64_t seed = seed_base; seed < seed_base + static_cast<uint64_t>(seeds); ++seed) {
        auto random = *tuner::MakeSearch("random", rows_space, seed);
        random_trials.push_back(TrialsTo95(*random, row_gflops, table.best, budget, batch));
        tuner::XgbSearchOptions options = base;
        options.seed = seed;
        options.candidates = candidates;
        options.features = [&](const v1::Config& config) {
          absl::StatusOr<uint64_t> index = space.IndexOf(config);
          if (index.ok()) {
            if (auto found = table.row_of.find(*index); found != table.row_of.end()) {
              return rows[found->second];
            }
          }
          return Featurize(feature_kind, table.workload, target, config);
        };
        auto xgb = *tuner::XgbSearch::Create(space, options);
        xgb_trials.push_back(TrialsTo95(*xgb, index_gflops, table.best, budget, batch));
        auto warm = *tuner::XgbSearch::Create(space, options);
        warm->SetTransferData(transfer);
        transfer_trials.push_back(TrialsTo95(*warm, index_gflops, table.best, budget, batch));
        options.propose_default = false;
        auto model_only = *tuner::XgbSearch::Create(space, options);
        model_trials.push_back(TrialsTo95(*model_only, index_gflops, table.best, budget, batch));
        auto model_warm = *tuner::XgbSearch::Create(space, options);
        model_warm->SetTransferData(transfer);
        model_transfer_trials.push_back(
            TrialsTo95(*model_warm, index_gflops, table.best, budget, batch));
      }
      // Ranking quality on held-out rows: trained on half the table, and on 64 rows.
      const Ranking half = HeldOutRanking(rows, table, rows.size() / 2, model_options, 7);
      std::vector<double> tau64;
      for (uint64_t split = 0; split < 5; ++split) {
        tau64.push_back(HeldOutRanking(rows, table, 64, model_options, 100 + split).tau);
      }
      taus.push_back(half.tau);
      taus64.push_back(Median(tau64));
      recalls.push_back(half.recall);
      const double r = Median(random_trials), x = Median(xgb_trials), t = Median(transfer_trials),
                   m = Median(model_trials), mt = Median(model_transfer_trials);
      xgb_ratios.push_back(x / r);
      transfer_ratios.push_back(t / x);
      model_ratios.push_back(m / r);
      model_transfer_ratios.push_back(mt / m);
      sum_random += r;
      sum_xgb += x;
      sum_transfer += t;
      if (default_share < 0.95) {
        missed_xgb_ratios.push_back(x / r);
        missed_transfer_ratios.push_back(t / x);
        missed.push_back(table.workload_text);
      }
      report.AddRow(
          {table.workload_text, absl::StrCat(table.rows.size(), "/", table.space_size),
           FormatGflops(table.best), std::to_string(good), absl::StrFormat("%.2f", default_share),
           absl::StrFormat("%.0f", r), absl::StrFormat("%.0f", x), absl::StrFormat("%.0f", t),
           absl::StrFormat("%.2f", x / r), absl::StrFormat("%.2f", t / x),
           absl::StrFormat("%.0f", m), absl::StrFormat("%.0f", mt), absl::StrFormat("%.2f", m / r),
           absl::StrFormat("%.2f", mt / m), absl::StrFormat("%.2f", half.tau),
           absl::StrFormat("%.2f", Median(tau64)), absl::StrFormat("%.1f", half.recall)});
    }
    search_wall += SecondsSince(set_start);
  }
  std::cout << "\nTrials to reach 95% of the table's best (median over " << seeds << " seeds from "
            << seed_base << "; budget = the table; batches of " << batch
            << "; '>=95%': rows within 95% of the best)\n";
  report.Print();
  std::cout << absl::StrFormat(
      "median xgb/random %.2f (goal <= 0.25); median transfer/xgb %.2f (goal <= 0.5); "
      "without the template default in the first round: xgb/random %.2f, transfer/xgb %.2f; "
      "median Kendall tau %.2f (trained on 64 rows: %.2f), top-10 recall %.2f on held-out "
      "rows\nmeasuring tables: %.0f s this run (0: all cached); searches: %.0f s; features "
      "(--features %s): %.3f ms per config over %d configs\n",
      Median(xgb_ratios), Median(transfer_ratios), Median(model_ratios),
      Median(model_transfer_ratios), Median(taus), Median(taus64), Median(recalls), measuring,
      search_wall, feature_kind, feature_rows > 0 ? 1e3 * feature_seconds / feature_rows : 0.0,
      feature_rows);
  std::cout << absl::StrFormat(
      "summed over the workloads (their median trials): random %.0f, xgb %.0f, xgb+transfer "
      "%.0f: xgb/random %.2f, transfer/xgb %.2f\n",
      sum_random, sum_xgb, sum_transfer, sum_xgb / sum_random, sum_transfer / sum_xgb);
  if (!missed.empty()) {
    std::cout << absl::StrFormat(
        "where the template default is below 95%% of the best (%d of %d workloads: %s): "
        "median xgb/random %.2f, median transfer/xgb %.2f\n",
        missed.size(), xgb_ratios.size(), absl::StrJoin(missed, "; "), Median(missed_xgb_ratios),
        Median(missed_transfer_ratios));
  }

  // Model + search share of a 500-trial job in a real-sized space (the first workload's
  // full space, loop-nest features), against the measured cost of a trial. An estimate: a
  // real `fleettune tune` run reports the split itself.
  const std::string real = sets[0].workloads[0];
  const codegen::CheckedWorkload workload = *codegen::CheckedWorkload::Parse(real);
  const codegen::SearchSpace space = *codegen::SearchSpaceFor(workload, target);
  tuner::XgbSearchOptions options = base;
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
    std::vector<uint64_t> proposed = search->Propose(8);
    if (proposed.empty()) break;
    for (uint64_t index : proposed) {
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
      "timing), so the job measures for %.0f s: model+search share %.1f%% (goal < 10%%; "
      "estimate)\n",
      done, real, static_cast<unsigned long long>(space.size()), search->model_seconds(),
      search->planning_seconds(), model_seconds, total, per_trial, job_seconds,
      100.0 * model_seconds / (model_seconds + job_seconds));
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace fleettune::bench

int main(int argc, char** argv) { return fleettune::bench::Main(argc, argv); }
