// `fleettune`: tune kernels on a fleet, query the tuning database, compile the best kernel,
// and run or inspect a tracker. This file owns the command line; tuner/cli/*.cc do the work.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_join.h"
#include "tuner/cli/commands.h"
#include "tuner/cli/logging.h"

namespace fleettune::cli {
namespace {

// The filters of best and history; the workload is required unless the command takes a model.
CLI::Option* AddQueryOptions(CLI::App& command, QueryArgs& args, bool workload_required = true) {
  CLI::Option* workload = command.add_option("--workload,-w", args.workload,
                                             "workload string, e.g. matmul:m=512,n=512,k=512");
  if (workload_required) workload->required();
  command.add_option("--target,-t", args.target, "only records of this target (default: any)");
  command.add_option("--device,--key", args.device, "only records of this device key");
  command.add_option("--db", args.db, "tuning database file")->capture_default_str();
  command.add_flag("--json", args.json, "print JSON");
  return workload;
}

// --model, excluding `workload`, and its repeatable --input-shape: for the commands that take
// either a workload or an ONNX model.
CLI::Option* AddModelOptions(CLI::App& command, CLI::Option* workload, std::string& model,
                             std::vector<std::string>& input_shapes, const std::string& help) {
  CLI::Option* option = command.add_option("--model,-m", model, help);
  option->excludes(workload);
  workload->excludes(option);
  command
      .add_option("--input-shape", input_shapes,
                  "with --model: static shape of a model input, name=d0,d1,... (repeatable)")
      ->needs(option);
  return option;
}

int Main(int argc, char** argv) {
  CLI::App app{"fleettune: autotuning of tensor kernels on a fleet of real boards"};
  app.require_subcommand(1);
  app.set_version_flag("--version", FLEETTUNE_VERSION_STRING);

  TuneArgs tune;
  CLI::App* tune_cmd = app.add_subcommand("tune", "tune a workload on boards of a device key");
  CLI::Option* tune_workload =
      tune_cmd->add_option("--workload,-w", tune.workload, "workload string");
  CLI::Option* tune_model =
      AddModelOptions(*tune_cmd, tune_workload, tune.model, tune.input_shapes,
                      "ONNX model: tune all its tunable workloads with one budget (a model job)");
  tune_cmd
      ->add_option("--scheduler", tune.scheduler,
                   "with --model: which task gets the next round: gradient (Ansor's) or "
                   "round-robin")
      ->capture_default_str()
      ->needs(tune_model);
  tune_cmd->add_option("--target,-t", tune.target, "target string")->capture_default_str();
  tune_cmd->add_option("--key,-k", tune.key, "device key of the boards")->capture_default_str();
  tune_cmd->add_option("--tracker", tune.tracker,
                       "tracker HOST:PORT (default: an embedded tracker and local boards)");
  tune_cmd->add_option(
      "--token-file", tune.token_file,
      "file holding the tracker's client token (default: $FLEETTUNE_CLIENT_TOKEN)");
  tune_cmd->add_option("--tls-ca", tune.tls_ca,
                       "PEM CA certificates of the tracker: connect with TLS");
  tune_cmd->add_option("--trials,-n", tune.trials, "configs to measure (with --model: in all)")
      ->capture_default_str();
  tune_cmd->add_option("--tuner", tune.tuner, "search strategy: xgb, ga, random, grid")
      ->capture_default_str();
  tune_cmd->add_option("--db", tune.db, "tuning database file")->capture_default_str();
  tune_cmd->add_option("--seed", tune.seed, "random seed")->capture_default_str();
  tune_cmd->add_option("--batch-size", tune.batch_size, "configs per build/measure round")
      ->capture_default_str();
  tune_cmd->add_option("--builders", tune.builders, "builder threads")->capture_default_str();
  tune_cmd
      ->add_option("--priority", tune.priority,
                   "jobs sharing boards take turns; a higher priority goes first")
      ->capture_default_str();
  tune_cmd->add_option("--boards", tune.boards, "local boards of the embedded fleet")
      ->capture_default_str();
  tune_cmd->add_option("--number", tune.number, "runs per repeat")->capture_default_str();
  tune_cmd->add_option("--repeat", tune.repeat, "repeats per measurement")->capture_default_str();
  tune_cmd->add_option("--min-repeat-ms", tune.min_repeat_ms, "minimum length of one repeat")
      ->capture_default_str();
  tune_cmd
      ->add_option("--timeout-ms", tune.timeout_ms,
                   "the most one measurement may take on a board (a slower kernel is TIMEOUT)")
      ->capture_default_str();
  tune_cmd->add_option("--job", tune.job,
                       "job name; one that already has records needs --resume (default: "
                       "workload@time-random, unique per run)");
  tune_cmd->add_flag("--quiet,-q", tune.quiet, "no progress lines");
  tune_cmd->add_flag("--verbose,-v", tune.verbose,
                     "show the full target key (every CPU feature) instead of its short form");
  tune_cmd
      ->add_option("--early-stop", tune.early_stop,
                   "stop after this many trials without a new best (with --model: per task; "
                   "0: never)")
      ->capture_default_str();
  tune_cmd
      ->add_option("--confirm-top", tune.confirm_top,
                   "at the end of the job (with --model: per task), re-measure this many of the "
                   "fastest configs beside the template default, interleaved on the board, and "
                   "report and record those figures; 0: no confirmation round")
      ->capture_default_str();
  tune_cmd
      ->add_option("--confirm-rounds", tune.confirm_rounds,
                   "rounds of the confirmation; each times every candidate once")
      ->capture_default_str();
  tune_cmd->add_flag("--resume", tune.resume,
                     "continue from the database: never re-measure a recorded config");
  tune_cmd
      ->add_option("--objective", tune.objective, "xgb model: rank:pairwise or reg:squarederror")
      ->capture_default_str();
  tune_cmd->add_option("--load-model", tune.load_model, "xgb: start from this saved model");
  tune_cmd->add_option("--save-model", tune.save_model, "xgb: save the fitted model here");
  tune_cmd->add_flag("--no-transfer", tune.no_transfer,
                     "xgb: do not train on other shapes' records of the same op, nor "
                     "measure their best configs first");
  tune_cmd->add_flag("--no-overlap", tune.no_overlap,
                     "build each round only after the previous one is measured (the default "
                     "with local boards, which share this machine's cores with the builders)");
  tune_cmd->add_flag("--overlap", tune.overlap,
                     "build the next round while this one is measured even with local boards "
                     "(the default with --tracker)");
  std::string tune_log_level = "info";
  AddLogLevelOption(*tune_cmd, &tune_log_level);

  QueryArgs best;
  CLI::App* best_cmd = app.add_subcommand("best", "the fastest recorded configs of a workload");
  AddQueryOptions(*best_cmd, best);
  best_cmd->add_option("--top", best.top, "how many")->capture_default_str();
  best_cmd->add_flag("--verbose,-v", best.verbose,
                     "show the full target key (every CPU feature) instead of its short form");

  QueryArgs history;
  CLI::App* history_cmd = app.add_subcommand(
      "history", "every result of a workload, or of a model job, in measurement order");
  CLI::Option* history_workload = AddQueryOptions(*history_cmd, history, false);
  CLI::Option* history_model = AddModelOptions(
      *history_cmd, history_workload, history.model, history.input_shapes,
      "ONNX model: its latest model job's trials, with the estimated network latency after each");
  history_cmd->add_option("--job", history.job, "with --model: this job instead of the latest")
      ->needs(history_model);

  CompileArgs compile;
  CLI::App* compile_cmd = app.add_subcommand(
      "compile", "build the best recorded kernel, or a whole ONNX model: OUT.so and OUT.h");
  CLI::Option* compile_workload =
      compile_cmd->add_option("--workload,-w", compile.workload, "workload string");
  CLI::Option* compile_model =
      AddModelOptions(*compile_cmd, compile_workload, compile.model, compile.input_shapes,
                      "ONNX model: build the whole network as one shared object");
  compile_cmd->add_option("--target,-t", compile.target, "target string")->capture_default_str();
  compile_cmd->add_option("--device,--key", compile.device, "prefer records of this device key");
  compile_cmd->add_option("--db", compile.db, "tuning database file")->capture_default_str();
  compile_cmd->add_option("-o,--output", compile.output, "output path without extension")
      ->required();
  compile_cmd->add_option("--symbol", compile.symbol, "exported kernel name");
  compile_cmd
      ->add_flag("--no-prepack", compile.no_prepack,
                 "with --model: store weights dense, packed by the kernels on every call")
      ->needs(compile_model);
  compile_cmd->add_flag("--dump-ir", compile.dump_ir, "print the IR after each lowering pass")
      ->excludes(compile_model);
  compile_cmd
      ->add_flag("--compare-default", compile.compare_default,
                 "measure the kernel and the template default on this machine")
      ->excludes(compile_model);

  TasksArgs tasks;
  CLI::App* tasks_cmd = app.add_subcommand(
      "tasks", "the tunable workloads of an ONNX model, with counts and FLOPs shares");
  tasks_cmd->add_option("--model,-m", tasks.model, "ONNX model file")->required();
  tasks_cmd->add_option("--target,-t", tasks.target, "target string")->capture_default_str();
  tasks_cmd->add_option("--input-shape", tasks.input_shapes,
                        "static shape of a model input, name=d0,d1,... (repeatable)");
  CLI::Option* tasks_json = tasks_cmd->add_flag("--json", tasks.json, "print JSON");
  tasks_cmd
      ->add_flag("--memory", tasks.memory,
                 "print the intermediates' memory plan: peak bytes, buffers, naive sum")
      ->excludes(tasks_json);
  tasks_cmd->add_flag("--dump-graph", tasks.dump_graph,
                      "print the graph after each graph pass to stderr");

  RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run",
                                         "build an ONNX model and measure it on a "
                                         "board: end-to-end time, per-layer profile");
  run_cmd->add_option("--model,-m", run.model, "ONNX model file")->required();
  run_cmd->add_option("--input-shape", run.input_shapes,
                      "static shape of a model input, name=d0,d1,... (repeatable)");
  run_cmd->add_option("--target,-t", run.target, "target string")->capture_default_str();
  run_cmd->add_option("--db", run.db, "tuning database file")->capture_default_str();
  run_cmd->add_option("--device", run.device,
                      "prefer records of this device key (default: --key's)");
  run_cmd->add_option("--key,-k", run.key, "device key of the boards")->capture_default_str();
  run_cmd->add_option("--tracker", run.tracker,
                      "tracker HOST:PORT (default: an embedded tracker and local boards)");
  run_cmd->add_option("--token-file", run.token_file,
                      "file holding the tracker's client token (default: "
                      "$FLEETTUNE_CLIENT_TOKEN)");
  run_cmd->add_option("--tls-ca", run.tls_ca,
                      "PEM CA certificates of the tracker: connect with TLS");
  run_cmd->add_option("--boards", run.boards, "local boards of the embedded fleet")
      ->capture_default_str();
  run_cmd->add_option("--number", run.number, "runs per repeat")->capture_default_str();
  run_cmd->add_option("--repeat", run.repeat, "repeats per measurement")->capture_default_str();
  run_cmd->add_option("--min-repeat-ms", run.min_repeat_ms, "minimum length of one repeat")
      ->capture_default_str();
  run_cmd
      ->add_option("--timeout-ms", run.timeout_ms, "the most one measurement may take on a board")
      ->capture_default_str();
  run_cmd
      ->add_option("--build-threads", run.build_threads, "threads building layers (0: all cores)")
      ->capture_default_str();
  run_cmd
      ->add_option("--max-artifact-mb", run.max_artifact_mb,
                   "largest network artifact (shared object) to send, in MiB; "
                   "with the embedded "
                   "fleet also its tracker's and boards' limit")
      ->capture_default_str();
  run_cmd->add_flag("--json", run.json, "print JSON");
  run_cmd->add_flag("--no-profile", run.no_profile,
                    "only the end-to-end time, no per-layer profile");

  TrackerArgs tracker;
  CLI::App* tracker_cmd = app.add_subcommand("tracker", "run a tracker");
  tracker_cmd->add_option("--listen", tracker.listen, "address to listen on")
      ->capture_default_str();
  tracker_cmd
      ->add_option("--no-board-timeout", tracker.no_board_timeout_s,
                   "seconds a batch waits for a board of its key before it is refused")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  tracker_cmd->add_option("--board-token-file", tracker.board_token_file,
                          "file holding the token boards must present "
                          "(default: $FLEETTUNE_BOARD_TOKEN; none: boards are not checked)");
  tracker_cmd->add_option("--client-token-file", tracker.client_token_file,
                          "file holding the token tuners must present "
                          "(default: $FLEETTUNE_CLIENT_TOKEN; none: tuners are not checked)");
  tracker_cmd->add_option("--tls-cert", tracker.tls_cert, "PEM certificate: serve TLS only");
  tracker_cmd->add_option("--tls-key", tracker.tls_key, "PEM private key of --tls-cert");
  tracker_cmd->add_option("--metrics-listen", tracker.metrics_listen,
                          "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9191");
  tracker_cmd->add_option("--web-listen", tracker.web_listen,
                          "serve the farm's web page and JSON API at http(s)://ADDR/ (client "
                          "token to sign in; HTTPS with --tls-cert), e.g. 127.0.0.1:9192");
  tracker_cmd
      ->add_option("--board-silence", tracker.board_silence_s,
                   "seconds without a heartbeat after which a board is dropped as hung")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  tracker_cmd
      ->add_option("--lost-board-retention", tracker.lost_board_retention_s,
                   "seconds `status` lists a dropped board as lost, with the reason")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  tracker_cmd
      ->add_option("--max-artifact-mb", tracker.max_artifact_mb,
                   "largest kernel artifact (shared object) a task may carry, in MiB; a batch "
                   "with a bigger one is refused")
      ->capture_default_str();
  std::string tracker_log_level = "info";
  AddLogLevelOption(*tracker_cmd, &tracker_log_level);

  std::string status_tracker;
  std::string status_token_file;
  bool status_json = false;
  CLI::App* status_cmd = app.add_subcommand("status", "boards and queues of a tracker");
  status_cmd->add_option("--tracker", status_tracker, "tracker HOST:PORT")->required();
  status_cmd->add_option(
      "--token-file", status_token_file,
      "file holding the tracker's client token (default: $FLEETTUNE_CLIENT_TOKEN)");
  std::string status_tls_ca;
  status_cmd->add_option("--tls-ca", status_tls_ca,
                         "PEM CA certificates of the tracker: connect with TLS");
  status_cmd->add_flag("--json", status_json, "print JSON");

  bool ops_json = false;
  CLI::App* ops_cmd = app.add_subcommand("ops", "the ops fleettune can tune");
  ops_cmd->add_flag("--json", ops_json, "print JSON");

  DbArgs db_args;
  CLI::App* db_cmd = AddDbCommands(app, db_args);

  // CLI11 reports a mistyped command only as a missing subcommand; name it instead.
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands({})) names.push_back(command->get_name());
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    std::cerr << "fleettune: unknown command '" << argv[1]
              << "' (commands: " << absl::StrJoin(names, ", ") << ")\n";
    return kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  // Every command gets the stderr logger, so that nothing ever logs to stdout (spdlog's own
  // default); tracker and tune choose its level (checked while parsing).
  const CLI::App* command = app.get_subcommands().front();  // exactly one: require_subcommand(1)
  std::string level = "info";
  if (command == tune_cmd) level = tune_log_level;
  if (command == tracker_cmd) level = tracker_log_level;
  SetUpLogging("fleettune " + command->get_name(), ParseLogLevel(level).value());

  if (*tune_cmd) return RunTune(tune);
  if (*best_cmd) return RunBest(best);
  if (*history_cmd) return RunHistory(history);
  if (*compile_cmd) return RunCompile(compile);
  if (*tasks_cmd) return RunTasks(tasks);
  if (*run_cmd) return RunRun(run);
  if (*tracker_cmd) return RunTracker(tracker);
  if (*status_cmd) return RunStatus(status_tracker, status_token_file, status_tls_ca, status_json);
  if (*ops_cmd) return RunOps(ops_json);
  if (*db_cmd) return RunDb(db_args);
  return kExitBadInput;
}

}  // namespace
}  // namespace fleettune::cli

int main(int argc, char** argv) { return fleettune::cli::Main(argc, argv); }
