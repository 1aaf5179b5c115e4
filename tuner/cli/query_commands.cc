// `fleettune best` and `fleettune history`: read the tuning database.
#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/version.h"
#include "db/database.h"
#include "graph/tasks.h"
#include "nlohmann/json.hpp"
#include "tuner/cli/commands.h"
#include "tuner/confirm.h"
#include "tuner/model_history.h"

namespace fleettune::cli {
namespace {

// Turns the user's workload/target/device filters into a database query (canonical keys).
absl::StatusOr<db::Query> MakeQuery(const QueryArgs& args) {
  absl::StatusOr<codegen::CheckedWorkload> workload =
      codegen::CheckedWorkload::Parse(args.workload);
  if (!workload.ok()) return workload.status();
  db::Query query;
  query.workload_key = workload->key();
  if (!args.target.empty()) {
    absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
    if (!target.ok()) return target.status();
    query.target_key = target->key();
  }
  if (!args.device.empty()) query.device_key = args.device;
  return query;
}

// True when the record was measured with another fleettune or LLVM than this binary's.
bool OlderCompiler(const db::Record& record) {
  return db::FromOlderCompiler(record, FLEETTUNE_VERSION_STRING, codegen::LlvmVersion());
}

nlohmann::json ToJson(const db::Record& record) {
  nlohmann::json knobs = nlohmann::json::object();
  for (const v1::Config::Knob& knob : record.config.knobs()) knobs[knob.name()] = knob.value();
  return {{"id", record.id},
          {"trial", record.trial},
          {"job", record.job},
          {"workload", record.workload_key},
          {"target", record.target_key},
          {"device_key", record.device_key},
          {"template", record.config.template_name()},
          {"config", knobs},
          {"config_string", codegen::ConfigToString(record.config)},
          {"status", v1::MeasureStatus_Name(record.status)},
          {"costs", record.costs},
          {"mean_cost", record.mean_cost},
          {"gflops", record.gflops},
          {"error", record.error},
          {"board", record.board_id},
          {"timestamp_ms", record.timestamp_ms},
          {"version", record.version},
          {"llvm_version", record.llvm_version},
          {"device",
           {{"model", record.device.model},
            {"cpu", record.device.cpu},
            {"cores", record.device.cores},
            {"runtime_version", record.device.runtime_version}}},
          {"schema_version", record.schema_version},
          {"older_compiler", OlderCompiler(record)}};
}

void PrintJson(const std::vector<db::Record>& records) {
  nlohmann::json array = nlohmann::json::array();
  for (const db::Record& record : records) array.push_back(ToJson(record));
  std::cout << array.dump(2) << "\n";
}

absl::StatusOr<std::vector<db::Record>> Load(const QueryArgs& args, bool best) {
  absl::StatusOr<db::Query> query = MakeQuery(args);
  if (!query.ok()) return query.status();
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::OpenExisting(args.db);
  if (!database.ok()) return database.status();
  if (best) return (*database)->Best(*query, args.top);
  return (*database)->History(*query);
}

}  // namespace

int RunBest(const QueryArgs& args) {
  if (args.top <= 0)
    return ReportError("best", absl::InvalidArgumentError("--top must be positive"));
  absl::StatusOr<std::vector<db::Record>> records = Load(args, /*best=*/true);
  if (!records.ok()) return ReportError("best", records.status());
  if (args.json) {
    PrintJson(*records);
    return records->empty() ? kExitFailure : kExitOk;
  }
  if (records->empty()) {
    std::cerr << "fleettune best: no successful measurement of " << args.workload << " in "
              << args.db << "\n";
    return kExitFailure;
  }
  // A confirmed record shows its confirmed median (what it ranks by) and its speedup over the
  // template default in the same rounds; an unconfirmed one what the job measured.
  const bool any_confirmed =
      std::any_of(records->begin(), records->end(),
                  [](const db::Record& record) { return !record.confirmed_costs.empty(); });
  std::cout << absl::StrFormat(
      "%-4s %10s %10s  %-10s %6s  %s%s\n", "rank", "GFLOPS", "ms", "device", "trial",
      any_confirmed ? absl::StrFormat("%-26s  ", "confirmed vs default") : std::string(), "config");
  int rank = 1;
  bool any_older = false;
  for (const db::Record& record : *records) {
    const bool older = OlderCompiler(record);
    any_older |= older;
    const double cost = db::RankCost(record);
    std::string confirmed;
    if (any_confirmed) {
      if (record.confirmed_costs.empty()) {
        confirmed = "unconfirmed";
      } else if (record.confirmed_default_costs.empty()) {
        confirmed = "confirmed";
      } else {
        confirmed = tuner::DescribeSpeedup(
            tuner::SpeedupOver(record.confirmed_default_costs, record.confirmed_costs));
      }
      confirmed = absl::StrFormat("%-26s  ", confirmed);
    }
    std::cout << absl::StrFormat("%-4d %10.2f %10.4f  %-10s %6d  %s%s%s\n", rank++,
                                 cost > 0 ? record.gflops * record.mean_cost / cost : 0.0,
                                 cost * 1e3, record.device_key, record.trial, confirmed,
                                 codegen::ConfigToString(record.config), older ? "  *" : "");
  }
  // The key of `host` lists every CPU feature; people read the short form.
  const std::string& key = records->front().target_key;
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(key);
  std::cout << "target: "
            << (args.verbose || !target.ok() ? key : codegen::TargetSummary(target->proto()))
            << "\n";
  if (any_older) {
    std::cout << "* measured with an older compiler than this fleettune " FLEETTUNE_VERSION_STRING
                 " / LLVM "
              << codegen::LlvmVersion() << "\n";
  }
  return kExitOk;
}

// `history --model`: the trials of a model job with the estimated network latency after each.
int RunModelHistory(const QueryArgs& args) {
  constexpr char kCommand[] = "history";
  absl::StatusOr<graph::InputShapes> shapes = graph::ParseInputShapes(args.input_shapes);
  if (!shapes.ok()) return ReportError(kCommand, shapes.status());
  absl::StatusOr<graph::Tasks> extracted = graph::ModelFileTasks(args.model, *shapes);
  if (!extracted.ok()) return ReportError(kCommand, extracted.status());
  std::vector<tuner::ScheduledTask> tasks;
  std::vector<std::string> workloads;
  for (const graph::Task& task : extracted->tasks) {
    tasks.push_back(tuner::ScheduledTask{task.workload, "", task.count, task.flops});
    workloads.push_back(task.workload);
  }
  std::optional<std::string> target_key;
  if (!args.target.empty()) {
    absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
    if (!target.ok()) return ReportError(kCommand, target.status());
    target_key = target->key();
  }
  std::optional<std::string> device_key;
  if (!args.device.empty()) device_key = args.device;
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::OpenExisting(args.db);
  if (!database.ok()) return ReportError(kCommand, database.status());
  std::string job = args.job;
  if (job.empty()) {
    absl::StatusOr<std::string> latest =
        tuner::LatestModelJob(**database, ModelName(args.model), workloads, target_key, device_key);
    if (!latest.ok()) return ReportError(kCommand, latest.status());
    job = *latest;
  }
  absl::StatusOr<std::vector<tuner::ModelTrial>> trials =
      tuner::ModelJobHistory(**database, job, tasks);
  if (!trials.ok()) return ReportError(kCommand, trials.status());
  if (trials->empty()) {
    return ReportError(kCommand, absl::NotFoundError(absl::StrCat(
                                     "job '", job, "' has no record of this model's workloads")));
  }
  if (args.json) {
    nlohmann::json array = nlohmann::json::array();
    for (const tuner::ModelTrial& trial : *trials) {
      array.push_back(
          {{"trial", trial.record.trial},
           {"job", trial.record.job},
           {"task", trial.task},
           {"workload", trial.record.workload_key},
           {"config_string", codegen::ConfigToString(trial.record.config)},
           {"status", v1::MeasureStatus_Name(trial.record.status)},
           {"gflops", trial.record.gflops},
           {"mean_cost", trial.record.mean_cost},
           {"board", trial.record.board_id},
           {"estimated_ms", trial.estimated_seconds ? nlohmann::json(*trial.estimated_seconds * 1e3)
                                                    : nlohmann::json(nullptr)}});
    }
    std::cout << array.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "job " << job << "\n";
  std::cout << absl::StrFormat("%6s %4s %10s  %-14s %12s  %s\n", "trial", "task", "GFLOPS",
                               "status", "estimated", "workload");
  for (const tuner::ModelTrial& trial : *trials) {
    std::cout << absl::StrFormat("%6d %4d %10.2f  %-14s %12s  %s\n", trial.record.trial, trial.task,
                                 trial.record.gflops, v1::MeasureStatus_Name(trial.record.status),
                                 trial.estimated_seconds
                                     ? absl::StrFormat("%.4g ms", *trial.estimated_seconds * 1e3)
                                     : std::string("-"),
                                 trial.record.workload_key);
  }
  return kExitOk;
}

int RunHistory(const QueryArgs& args) {
  if (!args.model.empty()) return RunModelHistory(args);
  if (args.workload.empty()) {
    return ReportError("history",
                       absl::InvalidArgumentError("one of --workload and --model is required"));
  }
  absl::StatusOr<std::vector<db::Record>> records = Load(args, /*best=*/false);
  if (!records.ok()) return ReportError("history", records.status());
  if (args.json) {
    PrintJson(*records);
    return kExitOk;
  }
  std::cout << absl::StrFormat("%6s %10s  %-14s %-10s  %s\n", "trial", "GFLOPS", "status", "device",
                               "config");
  for (const db::Record& record : *records) {
    std::cout << absl::StrFormat("%6d %10.2f  %-14s %-10s  %s%s\n", record.trial, record.gflops,
                                 v1::MeasureStatus_Name(record.status), record.device_key,
                                 codegen::ConfigToString(record.config),
                                 record.error.empty() ? "" : "  (" + record.error + ")");
  }
  return kExitOk;
}

}  // namespace fleettune::cli
