// `fleettune tune`: one tuning job, against a tracker or an embedded loopback fleet.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "db/database.h"
#include "tuner/cli/commands.h"
#include "tuner/confirm.h"
#include "tuner/embedded_fleet.h"
#include "tuner/tracker_client.h"
#include "tuner/tuning_job.h"

namespace fleettune::cli {

absl::StatusOr<KeyBoards> BoardsOfKey(const tuner::TuneOptions& options) {
  absl::StatusOr<std::unique_ptr<tuner::TrackerClient>> client = tuner::TrackerClient::Connect(
      options.tracker_address, options.tracker_token, options.tracker_tls_ca);
  if (!client.ok()) return client.status();
  absl::StatusOr<v1::StatusReply> status = (*client)->GetStatus();
  if (!status.ok()) return status.status();
  KeyBoards boards;
  for (const v1::BoardStatus& board : status->boards()) {
    if (board.info().key() != options.device_key) continue;
    ++boards.boards;
    if (board.info().emulated()) ++boards.emulated;
  }
  return boards;
}

std::string EmulatedNote(int boards, const std::string& key) {
  return absl::StrFormat(
      "note: %d board(s) of key %s are emulated (e.g. qemu-user): results are checked for "
      "correctness, but timings under emulation are meaningless\n",
      boards, key);
}

namespace {

// Every trial timed out: which kernel was too slow, and the flags that decide how long a
// measurement may take and how long it runs.
std::string AllTimedOut(const TuneArgs& args, const tuner::TuneSummary& summary) {
  const db::Record& first = *summary.first_timeout;
  return absl::StrFormat(
      "every trial timed out (%d of %d): no kernel finished its measurement in time; the first "
      "was %s %s (%s)\n"
      "raise --timeout-ms (now %d ms), or shorten a measurement with --repeat (now %d) and "
      "--min-repeat-ms (now %d)\n",
      summary.timeouts, summary.trials, first.workload_key, codegen::ConfigToString(first.config),
      first.error, args.timeout_ms, args.repeat, args.min_repeat_ms);
}

}  // namespace

absl::StatusOr<tuner::TuneOptions> TuneOptionsFromArgs(const TuneArgs& args,
                                                       codegen::CheckedWorkload workload,
                                                       codegen::CheckedTarget target) {
  if (args.trials <= 0) return absl::InvalidArgumentError("--trials must be positive");
  if (args.early_stop < 0) return absl::InvalidArgumentError("--early-stop must be >= 0");
  if (args.boards <= 0 || args.batch_size <= 0 || args.builders <= 0 || args.repeat <= 0 ||
      args.number <= 0 || args.min_repeat_ms < 0 || args.timeout_ms <= 0) {
    return absl::InvalidArgumentError(
        "--boards, --batch-size, --builders, --number, --repeat and --timeout-ms must be "
        "positive, --min-repeat-ms >= 0");
  }
  if (args.overlap && args.no_overlap) {
    return absl::InvalidArgumentError("--overlap and --no-overlap exclude each other");
  }
  tuner::TuneOptions options(std::move(workload), std::move(target));
  options.device_key = args.key;
  options.trials = args.trials;
  options.tuner = args.tuner;
  options.seed = args.seed;
  options.batch_size = args.batch_size;
  options.priority = args.priority;
  options.builder_threads = args.builders;
  options.job_name = args.job;
  options.early_stop = args.early_stop;
  options.confirm.top = args.confirm_top;
  options.confirm.rounds = args.confirm_rounds;
  options.resume = args.resume;
  options.objective = args.objective;
  options.load_model = args.load_model;
  options.save_model = args.save_model;
  options.transfer = !args.no_transfer;
  // Builds overlap measurement only when the boards are elsewhere: local boards share this
  // machine's cores with the builders, and a kernel timed beside a compiler is slowed (a
  // 2-thread default measured 1 GFLOPS instead of 64 on 2 cores). --overlap forces it.
  options.overlap_builds = args.overlap || (!args.no_overlap && !args.tracker.empty());
  options.measure = tuner::DefaultMeasureOptions();
  options.measure.set_number(args.number);
  options.measure.set_repeat(args.repeat);
  options.measure.set_min_repeat_ms(args.min_repeat_ms);
  options.measure.set_timeout_ms(args.timeout_ms);
  return options;
}

// The job's best and its speedup over the template default: the confirmation round's figures
// when it ran (tuner/confirm.h), which are the ones the database now ranks by; otherwise the
// job's own, said to be unconfirmed.
void PrintResult(const codegen::CheckedWorkload& workload, const tuner::TuneSummary& summary) {
  if (!summary.noise.empty()) {
    std::cout << "board noise (CV of each result's repeats): " << summary.noise << "\n";
  }
  for (const std::string& warning : summary.shared_host_warnings) {
    std::cout << "warning: " << warning << "\n";
  }
  if (summary.held_back > 0) {
    std::cout << absl::StrFormat(
        "held back: %d new bests within their board's noise were re-measured beside the best "
        "before being announced; %d of them won there\n",
        summary.held_back, summary.held_back_upheld);
  }
  const double claimed =
      summary.default_gflops > 0 ? summary.best->gflops / summary.default_gflops : 0;
  const tuner::ConfirmedCandidate* best =
      summary.confirmation ? summary.confirmation->best() : nullptr;
  if (best == nullptr) {
    std::cout << absl::StrFormat("best: %.2f GFLOPS (%.3f ms) %s\n", summary.best->gflops,
                                 summary.best->mean_cost * 1e3,
                                 codegen::ConfigToString(summary.best->config));
    if (claimed > 0) {
      std::cout << absl::StrFormat(
          "template default: %.2f GFLOPS; tuned is %.2fx the default, UNCONFIRMED (%s)\n",
          summary.default_gflops, claimed,
          summary.confirmation_failure.empty() ? "--confirm-top 0" : summary.confirmation_failure);
    }
    return;
  }
  const tuner::Confirmation& confirmation = *summary.confirmation;
  const tuner::BoardConfirmation& board = confirmation.boards[confirmation.chosen];
  std::cout << absl::StrFormat(
      "exploration: best %.2f GFLOPS as first measured%s\n", summary.best->gflops,
      claimed > 0 ? absl::StrFormat(", %.2fx the template default as first measured", claimed)
                  : "");
  std::cout << absl::StrFormat(
      "confirmation: %d configs re-measured together on board %s, %d rounds interleaved "
      "(round-to-round noise %.1f%%)%s\n",
      board.candidates.size(), board.board_id, best->costs.size(), 100 * board.noise_cv,
      confirmation.boards.size() > 1
          ? absl::StrFormat("; %d boards measured it, the quietest counts",
                            confirmation.boards.size())
          : "");
  for (const std::string& disagreement : confirmation.disagreements) {
    std::cout << "warning: " << disagreement << "\n";
  }
  std::cout << absl::StrFormat("best: %.2f GFLOPS (%.3f ms, median of the rounds) %s%s\n",
                               tuner::Gflops(workload, best->median_cost), best->median_cost * 1e3,
                               codegen::ConfigToString(best->candidate.config),
                               best->candidate.is_default ? " (the template default)" : "");
  const tuner::ConfirmedCandidate* base = confirmation.default_candidate();
  if (base == nullptr) {
    std::cout << "template default: it failed in the confirmation round; no speedup to report\n";
  } else if (best->candidate.is_default) {
    std::cout << "tuning found no gain: no config of the job beat the template default when "
                 "re-measured beside it; the default is as good\n";
  } else if (!best->speedup.Reliable()) {
    std::cout << absl::StrFormat(
        "template default: %.2f GFLOPS; tuning found no reliable gain: the best is %s the "
        "default, a range that includes 1.0, so the default is as good\n",
        tuner::Gflops(workload, base->median_cost), tuner::DescribeSpeedup(best->speedup));
  } else {
    std::cout << absl::StrFormat("template default: %.2f GFLOPS; tuned is %s the default\n",
                                 tuner::Gflops(workload, base->median_cost),
                                 tuner::DescribeSpeedup(best->speedup));
  }
}

int RunTune(const TuneArgs& args) {
  constexpr char kCommand[] = "tune";
  if (!args.model.empty()) return RunTuneModel(args);
  if (args.workload.empty()) {
    return ReportError(kCommand,
                       absl::InvalidArgumentError("one of --workload and --model is required"));
  }
  absl::StatusOr<codegen::CheckedWorkload> workload =
      codegen::CheckedWorkload::Parse(args.workload);
  if (!workload.ok()) return ReportError(kCommand, workload.status());
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
  if (!target.ok()) return ReportError(kCommand, target.status());
  absl::StatusOr<tuner::TuneOptions> made = TuneOptionsFromArgs(args, *workload, *target);
  if (!made.ok()) return ReportError(kCommand, made.status());
  tuner::TuneOptions& options = *made;
  // Bad input is refused before anything is set up, and before the database file exists: a
  // refused tune leaves no empty database behind.
  if (absl::Status valid = tuner::ValidateTuneOptions(options); !valid.ok()) {
    return ReportError(kCommand, valid);
  }

  absl::StatusOr<TrackerEndpoint> endpoint = TrackerOrEmbeddedFleet(
      args.tracker, args.token_file, args.tls_ca, target->proto(), args.key, args.boards);
  if (!endpoint.ok()) return ReportError(kCommand, endpoint.status());
  options.tracker_address = endpoint->address;
  options.tracker_token = endpoint->token;
  options.tracker_tls_ca = endpoint->tls_ca;
  const bool embedded = endpoint->fleet != nullptr;

  // The tracker answers (and takes the token) before the database is opened, so that a
  // wrong token or address creates no database file either.
  absl::StatusOr<KeyBoards> boards_before = BoardsOfKey(options);
  if (!boards_before.ok()) return ReportError(kCommand, boards_before.status());
  const int emulated_before = boards_before->emulated;
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::Open(args.db);
  if (!database.ok()) return ReportError(kCommand, database.status());

  std::cerr << absl::StrFormat(
      "tuning %s on %s (key %s, %d trials, %s search) via %s%s\n", workload->key(),
      args.verbose ? target->key() : codegen::TargetSummary(target->proto()), args.key, args.trials,
      args.tuner, options.tracker_address, embedded ? " (embedded)" : "");
  auto progress = [&](const tuner::TuneProgress& p) {
    if (args.quiet) return;
    std::cerr << absl::StrFormat("[%4d/%d] failures %d  best %.2f GFLOPS  %s\n", p.done, p.total,
                                 p.failures, p.best_gflops, p.best_config);
  };
  if (emulated_before > 0) {
    std::cerr << EmulatedNote(emulated_before, args.key);
  }
  absl::StatusOr<tuner::TuneSummary> summary = tuner::RunTuningJob(options, **database, progress);
  if (!summary.ok()) return ReportError(kCommand, summary.status());
  if (const int emulated =
          std::max(emulated_before, BoardsOfKey(options).value_or(KeyBoards{}).emulated);
      emulated > 0) {
    std::cout << EmulatedNote(emulated, args.key);
  }

  std::cout << absl::StrFormat(
      "job %s: %d trials, %d failed; build %.1f s (summed over builders), measure %.1f s, "
      "model %.2f s, search %.2f s, confirm %.1f s, wall %.1f s\n",
      summary->job, summary->trials, summary->failures, summary->build_seconds,
      summary->measure_seconds, summary->model_seconds, summary->search_seconds,
      summary->confirm_seconds, summary->wall_seconds);
  if (summary->resumed_trials > 0) {
    std::cout << absl::StrFormat("resumed: %d trials were already recorded\n",
                                 summary->resumed_trials);
  }
  if (summary->transfer_rows > 0) {
    std::cout << absl::StrFormat("transfer: the model also trained on %d records of other shapes\n",
                                 summary->transfer_rows);
  }
  if (summary->stopped_early) {
    std::cout << absl::StrFormat("stopped early: %d trials without a new best\n", args.early_stop);
  }
  if (summary->space_exhausted) {
    std::cout << absl::StrFormat(
        "search space exhausted: all %d configs are measured (%d of the %d trials asked for)\n",
        summary->space_size, summary->trials, args.trials);
  }
  if (summary->model_saved) std::cout << "model saved to " << args.save_model << "\n";
  if (!summary->best) {
    if (summary->timeouts > 0 && summary->timeouts == summary->trials) {
      std::cout << AllTimedOut(args, *summary);
    } else {
      std::cout << "no config measured successfully; see `fleettune history` for the errors\n";
    }
    return kExitFailure;
  }
  PrintResult(*workload, *summary);
  return kExitOk;
}

}  // namespace fleettune::cli
