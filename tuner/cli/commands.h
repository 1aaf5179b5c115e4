// The `fleettune` subcommands, one function each. Arguments arrive parsed (main.cc owns the
// command line); each returns the process exit code: 0 success, 1 runtime failure, 2 bad
// usage or bad input (docs/architecture.md, "Contracts that other people build on").
#ifndef FLEETTUNE_TUNER_CLI_COMMANDS_H_
#define FLEETTUNE_TUNER_CLI_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/artifact_limit.h"
#include "net/token_file.h"
#include "tuner/embedded_fleet.h"
#include "tuner/tuning_job.h"

namespace CLI {
class App;
}  // namespace CLI

namespace fleettune::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Prints `fleettune <command>: error: <message>` to stderr and maps the status to an exit
// code: bad input (InvalidArgument, FailedPrecondition, NotFound of a user-named thing) is 2.
int ReportError(const std::string& command, const absl::Status& status);

// The PEM file named by the option `flag` (net::ReadPemFile), or "" when `file` is empty (the
// option was not given: no TLS).
absl::StatusOr<std::string> ReadOptionalPem(const char* flag, const std::string& file,
                                            net::PemContent content);

// The tracker a command talks to, ready for tuner::TrackerClient::Connect.
struct TrackerEndpoint {
  std::string address;                          // HOST:PORT
  std::string token;                            // client token
  std::string tls_ca;                           // PEM roots; empty: no TLS
  std::unique_ptr<tuner::EmbeddedFleet> fleet;  // set when the command started its own
};

// --tracker (checked HOST:PORT), --token-file (else $FLEETTUNE_CLIENT_TOKEN) and --tls-ca; a
// TLS handshake mistake is then left to Connect's diagnosis. Nothing is started.
absl::StatusOr<TrackerEndpoint> RemoteTracker(const std::string& tracker,
                                              const std::string& token_file,
                                              const std::string& tls_ca);

// RemoteTracker when `tracker` is set; otherwise an embedded fleet of `boards` local boards
// of `key` (tuner::EmbeddedFleet), which refuses a target other than this machine's.
absl::StatusOr<TrackerEndpoint> TrackerOrEmbeddedFleet(
    const std::string& tracker, const std::string& token_file, const std::string& tls_ca,
    const v1::Target& target, const std::string& key, int boards,
    int max_artifact_mb = net::kDefaultMaxArtifactMb);

struct TuneArgs {
  std::string workload;                   // one of workload and model
  std::string model;                      // ONNX file: tune the model's tasks (a model job)
  std::vector<std::string> input_shapes;  // with model: `name=d0,d1,...` each
  std::string scheduler = "gradient";     // with model: gradient | round-robin
  std::string target = "host";
  std::string key = "local";
  std::string tracker;     // empty: embedded tracker + local boards
  std::string token_file;  // the tracker's client token ($FLEETTUNE_CLIENT_TOKEN otherwise)
  std::string tls_ca;      // PEM roots of the tracker's certificate: use TLS
  int trials = 64;
  std::string tuner = "xgb";
  std::string db = "fleettune.db";
  uint64_t seed = 0;
  int early_stop = 0;
  int confirm_top = 5;  // the confirmation round (tuner/confirm.h); 0: none
  int confirm_rounds = 15;
  bool resume = false;
  std::string objective = "rank:pairwise";
  std::string load_model;
  std::string save_model;
  bool no_transfer = false;
  bool no_overlap = false;
  bool overlap = false;  // force overlapped builds even with local boards
  int batch_size = 8;
  int priority = 0;
  int builders = 2;
  int boards = 1;  // embedded boards
  int number = 1;
  int repeat = 3;
  int min_repeat_ms = 40;
  int timeout_ms = 10000;  // the most one measurement may take on a board
  std::string job;
  bool quiet = false;
  bool verbose = false;  // print the full canonical target key, not its short form
};
int RunTune(const TuneArgs& args);
// `tune --model` (tuner/cli/tune_model_command.cc).
int RunTuneModel(const TuneArgs& args);
// The name a model's jobs carry (`NAME@time-random`): its file name without the extension.
std::string ModelName(const std::string& path);

// The tuning options of `args` for `workload` on `target` (tune_command.cc):
// InvalidArgument naming the option for a bad count or conflicting flags.
absl::StatusOr<tuner::TuneOptions> TuneOptionsFromArgs(const TuneArgs& args,
                                                       codegen::CheckedWorkload workload,
                                                       codegen::CheckedTarget target);

// Boards of a key that the tracker lists, and how many of them are emulated.
struct KeyBoards {
  int boards = 0;
  int emulated = 0;
};
// The boards of options.device_key at options.tracker_address. The tracker's error when it
// cannot be asked: unreachable (Unavailable) or refusing the token (Unauthenticated).
absl::StatusOr<KeyBoards> BoardsOfKey(const tuner::TuneOptions& options);

// The note that `boards` boards of `key` are emulated, so their timings mean nothing.
std::string EmulatedNote(int boards, const std::string& key);

struct QueryArgs {
  std::string workload;
  std::string model;                      // history: a model job's trials instead of a workload
  std::vector<std::string> input_shapes;  // with model: `name=d0,d1,...` each
  std::string job;                        // with model: this job (default: the latest)
  std::string target;                     // empty: any target
  std::string device;                     // empty: any device
  std::string db = "fleettune.db";
  int top = 5;
  bool json = false;
  bool verbose = false;  // best: the full canonical target key, not its short form
};
int RunBest(const QueryArgs& args);
int RunHistory(const QueryArgs& args);

struct CompileArgs {
  std::string workload;                   // one of workload and model
  std::string model;                      // ONNX file: the whole network as one shared object
  std::vector<std::string> input_shapes;  // with model: `name=d0,d1,...` each
  std::string target = "host";
  std::string device;  // empty: any device of the target
  std::string db = "fleettune.db";
  std::string output;  // writes OUTPUT.so and OUTPUT.h
  std::string symbol;  // empty: derived from the workload or the model's file name
  bool dump_ir = false;
  bool compare_default = false;  // measure the tuned and the default kernel here
  bool no_prepack = false;       // with model: keep every weight dense (to measure prepacking)
};
int RunCompile(const CompileArgs& args);

// `fleettune tasks --model` (tuner/cli/tasks_command.cc).
struct TasksArgs {
  std::string model;  // ONNX file
  std::string target = "host";
  std::vector<std::string> input_shapes;  // `name=d0,d1,...` each
  bool json = false;
  bool dump_graph = false;  // print the graph after each pass to stderr
  bool memory = false;      // print the memory plan's peak vs the naive sum (not with json)
};
int RunTasks(const TasksArgs& args);

// `fleettune run --model` (tuner/cli/run_command.cc).
struct RunArgs {
  std::string model;                      // ONNX file
  std::vector<std::string> input_shapes;  // `name=d0,d1,...` each
  std::string target = "host";
  std::string db = "fleettune.db";
  std::string device;  // records of this device key first; empty: --key's
  std::string key = "local";
  std::string tracker;     // empty: embedded tracker + local boards
  std::string token_file;  // the tracker's client token ($FLEETTUNE_CLIENT_TOKEN otherwise)
  std::string tls_ca;      // PEM roots of the tracker's certificate: use TLS
  int boards = 1;          // embedded boards
  int number = 1;
  int repeat = 5;
  int min_repeat_ms = 40;
  int timeout_ms = 60000;  // the most one measurement may take on a board
  int build_threads = 0;   // 0: all cores
  int max_artifact_mb = net::kDefaultMaxArtifactMb;
  bool json = false;
  bool no_profile = false;  // only the end-to-end time
};
int RunRun(const RunArgs& args);

struct TrackerArgs {
  std::string listen = "127.0.0.1:9190";
  double no_board_timeout_s = 60;
  double board_silence_s = 15;
  // How long `status` lists a dropped board as lost.
  double lost_board_retention_s = 300;
  std::string board_token_file;   // $FLEETTUNE_BOARD_TOKEN otherwise
  std::string client_token_file;  // $FLEETTUNE_CLIENT_TOKEN otherwise
  std::string metrics_listen;     // Prometheus endpoint; empty: none
  std::string web_listen;         // the web page and its JSON API (docs/web.md); empty: none
  std::string tls_cert;           // PEM files: serve TLS
  std::string tls_key;
  int max_artifact_mb = net::kDefaultMaxArtifactMb;  // largest artifact a task may carry
};
int RunTracker(const TrackerArgs& args);
int RunStatus(const std::string& tracker, const std::string& token_file, const std::string& tls_ca,
              bool json);
int RunOps(bool json);

// `fleettune db stats|export|import|prune` (tuner/cli/db_commands.cc).
struct DbArgs {
  std::string action;  // the subcommand given; set while parsing
  std::string db = "fleettune.db";
  std::string file = "-";  // export: output; import: input ("-": stdout/stdin)
  std::string workload;    // export filters; empty: all
  std::string target;
  std::string device;
  int keep = 0;  // prune
  bool json = false;
};
// Adds the `db` command and its subcommands to `app`, parsing into `args`; returns it.
CLI::App* AddDbCommands(CLI::App& app, DbArgs& args);
int RunDb(const DbArgs& args);

}  // namespace fleettune::cli

#endif  // FLEETTUNE_TUNER_CLI_COMMANDS_H_
