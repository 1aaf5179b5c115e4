// `fleettune tune --model`: a model job, one budget over an ONNX model's tasks
// (tuner/model_job.h), with a live table of the tasks on the terminal.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/target.h"
#include "db/database.h"
#include "graph/onnx_import.h"
#include "graph/tasks.h"
#include "tuner/cli/commands.h"
#include "tuner/confirm.h"
#include "tuner/model_job.h"
#include "tuner/task_scheduler.h"

namespace fleettune::cli {
namespace {

constexpr char kCommand[] = "tune";

// Workload keys longer than this are cut in the live table (the summary prints them whole).
constexpr size_t kShapeWidth = 64;

std::string Cut(const std::string& text, size_t width) {
  return text.size() <= width ? text : absl::StrCat(text.substr(0, width - 3), "...");
}

std::string Milliseconds(const std::optional<double>& seconds) {
  return seconds ? absl::StrFormat("%.4g ms", *seconds * 1e3) : std::string("-");
}

// A task's confirmed speedup over its template default, as the table shows it.
std::string ConfirmedCell(const tuner::ModelTaskState& task) {
  if (!task.confirmed) return task.confirmation_failure.empty() ? "-" : "unconfirmed";
  const tuner::SpeedupInterval& speedup = task.confirmed->speedup;
  if (task.confirmed->candidate.is_default) return "the default is best";
  if (speedup.median <= 0) return "no default to compare";
  return absl::StrFormat("%.2fx (%.2f-%.2f)%s", speedup.median, speedup.low, speedup.high,
                         speedup.Reliable() ? "" : " no reliable gain");
}

// The tasks table: one line per task, largest share of the estimated latency first; workload
// keys cut at `shape_width` (0: whole).
std::string TaskTable(const tuner::ModelTuneSummary& summary, size_t shape_width) {
  if (shape_width == 0) {
    for (const tuner::ModelTaskState& task : summary.tasks) {
      shape_width = std::max(shape_width, task.workload.size());
    }
  }
  std::vector<size_t> order(summary.tasks.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return summary.tasks[a].share > summary.tasks[b].share;
  });
  // After the confirmation rounds: each task's confirmed speedup over its template default.
  const bool confirmed = std::any_of(summary.tasks.begin(), summary.tasks.end(),
                                     [](const tuner::ModelTaskState& task) {
                                       return task.confirmed || !task.confirmation_failure.empty();
                                     });
  std::string table = absl::StrFormat(
      "  %3s  %-*s  %5s  %6s  %9s  %6s%s\n", "#", static_cast<int>(shape_width), "shape", "count",
      "trials", "GFLOPS", "share", confirmed ? "  confirmed vs default (10-90%)" : "");
  for (size_t i : order) {
    const tuner::ModelTaskState& task = summary.tasks[i];
    absl::StrAppendFormat(
        &table, "  %3d  %-*s  %5d  %6d  %9s  %5.1f%%%s%s\n", i, static_cast<int>(shape_width),
        Cut(task.workload, shape_width), task.count, task.trials,
        task.best ? absl::StrFormat("%.2f", task.best->gflops) : std::string("-"), 100 * task.share,
        confirmed ? "  " + ConfirmedCell(task) : "", task.stopped ? "  stopped" : "");
  }
  return table;
}

std::string Headline(const tuner::ModelTuneSummary& summary) {
  return absl::StrFormat(
      "[%d/%d] estimated %s%s", summary.trials, summary.total_trials,
      Milliseconds(summary.estimated_seconds),
      summary.first_estimated_seconds && summary.estimated_seconds
          ? absl::StrFormat(" (from %s)", Milliseconds(summary.first_estimated_seconds))
          : std::string());
}

// Progress after each round: on a terminal the table is redrawn in place; otherwise one plain
// line per round (the table is printed once at the end).
class LiveTable {
 public:
  explicit LiveTable(bool quiet) : quiet_(quiet), tty_(isatty(fileno(stderr)) != 0) {}

  void Update(const tuner::ModelTuneSummary& summary) {
    if (quiet_) return;
    if (!tty_) {
      std::string line = Headline(summary);
      if (summary.last_task) {
        const tuner::ModelTaskState& task = summary.tasks[*summary.last_task];
        absl::StrAppendFormat(&line, "; task %d %s: %d trials, best %s GFLOPS", *summary.last_task,
                              task.workload, task.trials,
                              task.best ? absl::StrFormat("%.2f", task.best->gflops) : "-");
      }
      std::cerr << line << "\n";
      return;
    }
    const std::string text = absl::StrCat(Headline(summary), "\n", TaskTable(summary, kShapeWidth));
    // Up over the previous drawing, then clear to the end of the screen.
    if (lines_ > 0) std::cerr << "\x1b[" << lines_ << "A\x1b[J";
    std::cerr << text << std::flush;
    lines_ = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

 private:
  const bool quiet_;
  const bool tty_;
  int lines_ = 0;  // lines of the last drawing
};

}  // namespace

std::string ModelName(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

int RunTuneModel(const TuneArgs& args) {
  absl::StatusOr<tuner::SchedulerPolicy> policy = tuner::ParseSchedulerPolicy(args.scheduler);
  if (!policy.ok()) {
    return ReportError(kCommand,
                       absl::InvalidArgumentError(absl::StrCat("--", policy.status().message())));
  }
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
  if (!target.ok()) return ReportError(kCommand, target.status());
  absl::StatusOr<graph::InputShapes> shapes = graph::ParseInputShapes(args.input_shapes);
  if (!shapes.ok()) return ReportError(kCommand, shapes.status());
  absl::StatusOr<graph::Tasks> extracted = graph::ModelFileTasks(args.model, *shapes);
  if (!extracted.ok()) return ReportError(kCommand, extracted.status());
  if (extracted->tasks.empty()) {
    return ReportError(kCommand,
                       absl::InvalidArgumentError(absl::StrCat(
                           "model '", args.model, "' has no tunable op (Conv, Gemm, MatMul)")));
  }
  std::vector<tuner::ModelTask> tasks;
  for (const graph::Task& task : extracted->tasks) {
    absl::StatusOr<codegen::CheckedWorkload> workload =
        codegen::CheckedWorkload::Parse(task.workload);
    if (!workload.ok()) return ReportError(kCommand, workload.status());
    tasks.push_back(tuner::ModelTask{*std::move(workload), task.count});
  }
  absl::StatusOr<tuner::TuneOptions> common =
      TuneOptionsFromArgs(args, tasks.front().workload, *target);
  if (!common.ok()) return ReportError(kCommand, common.status());
  if (!args.save_model.empty() || !args.load_model.empty()) {
    return ReportError(kCommand, absl::InvalidArgumentError(
                                     "--save-model and --load-model are for single workloads, "
                                     "not --model (each task has its own cost model)"));
  }
  const std::string name = ModelName(args.model);
  tuner::ModelTuneOptions options(name, std::move(tasks), *std::move(common));
  options.scheduler.policy = *policy;
  if (absl::Status valid = tuner::ValidateModelTuneOptions(options); !valid.ok()) {
    return ReportError(kCommand, valid);
  }

  absl::StatusOr<TrackerEndpoint> endpoint = TrackerOrEmbeddedFleet(
      args.tracker, args.token_file, args.tls_ca, target->proto(), args.key, args.boards);
  if (!endpoint.ok()) return ReportError(kCommand, endpoint.status());
  options.common.tracker_address = endpoint->address;
  options.common.tracker_token = endpoint->token;
  options.common.tracker_tls_ca = endpoint->tls_ca;
  const bool embedded = endpoint->fleet != nullptr;
  absl::StatusOr<KeyBoards> boards = BoardsOfKey(options.common);
  if (!boards.ok()) return ReportError(kCommand, boards.status());
  // Every board of the key gets a round; with remote boards one more round is built while
  // they measure. Local boards share this machine's cores with the builders (no overlap).
  options.rounds_in_flight = std::max(1, boards->boards) + (options.common.overlap_builds ? 1 : 0);
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::Open(args.db);
  if (!database.ok()) return ReportError(kCommand, database.status());

  std::cerr << absl::StrFormat(
      "tuning model %s: %d tasks on %s (key %s, %d boards, %d trials, %s scheduler, %s "
      "search) via %s%s\n",
      name, options.tasks.size(),
      args.verbose ? target->key() : codegen::TargetSummary(target->proto()), args.key,
      boards->boards, args.trials, tuner::SchedulerPolicyName(*policy), args.tuner,
      options.common.tracker_address, embedded ? " (embedded)" : "");
  if (boards->emulated > 0) std::cerr << EmulatedNote(boards->emulated, args.key);
  LiveTable live(args.quiet);
  absl::StatusOr<tuner::ModelTuneSummary> summary = tuner::RunModelJob(
      options, **database, [&](const tuner::ModelTuneSummary& s) { live.Update(s); });
  if (!summary.ok()) return ReportError(kCommand, summary.status());

  std::cout << absl::StrFormat(
      "job %s: %d trials, %d failed over %d tasks; build %.1f s (summed over builders), "
      "measure %.1f s (summed over rounds), model %.2f s, search %.2f s, scheduler %.2f s, "
      "wall %.1f s\n",
      summary->job, summary->trials, summary->failures, summary->tasks.size(),
      summary->build_seconds, summary->measure_seconds, summary->model_seconds,
      summary->search_seconds, summary->scheduler_seconds, summary->wall_seconds);
  if (summary->resumed_trials > 0) {
    std::cout << absl::StrFormat("resumed: %d trials were already recorded\n",
                                 summary->resumed_trials);
  }
  if (summary->all_stopped) {
    std::cout << "every task stopped (--early-stop or an exhausted space) before the budget "
                 "was spent\n";
  }
  std::cout << TaskTable(*summary, /*shape_width=*/0);
  if (!summary->estimated_seconds) {
    const int64_t missing =
        std::count_if(summary->tasks.begin(), summary->tasks.end(),
                      [](const tuner::ModelTaskState& task) { return !task.best.has_value(); });
    std::cout << absl::StrFormat(
        "estimated network latency: unknown, %d of %d tasks have no valid result (a larger "
        "--trials reaches them; compile uses their template defaults); see `fleettune history "
        "--model`\n",
        missing, summary->tasks.size());
    return missing == static_cast<int64_t>(summary->tasks.size()) ? kExitFailure : kExitOk;
  }
  std::cout << absl::StrFormat("estimated network latency (tuned kernels only): %s",
                               Milliseconds(summary->estimated_seconds));
  if (summary->first_estimated_seconds) {
    std::cout << absl::StrFormat(", %.2fx faster than at the start (%s)",
                                 *summary->first_estimated_seconds / *summary->estimated_seconds,
                                 Milliseconds(summary->first_estimated_seconds));
  }
  if (summary->confirmed_estimated_seconds) {
    std::cout << absl::StrFormat(
        "\nconfirmed: %s, the tasks' best kernels re-measured beside their template defaults "
        "(median of %d rounds; %.1f s)",
        Milliseconds(summary->confirmed_estimated_seconds), args.confirm_rounds,
        summary->confirm_seconds);
  }
  for (const tuner::ModelTaskState& task : summary->tasks) {
    if (!task.confirmation_failure.empty()) {
      std::cout << "\ntask " << task.workload << ": unconfirmed: " << task.confirmation_failure;
    }
  }
  if (!summary->noise.empty()) {
    std::cout << "\nboard noise (CV of each result's repeats): " << summary->noise;
  }
  std::cout << absl::StrFormat("\nbuild it: fleettune compile --model %s --db %s -o %s\n",
                               args.model, args.db, name);
  return kExitOk;
}

}  // namespace fleettune::cli
