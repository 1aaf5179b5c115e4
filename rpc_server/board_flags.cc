#include "rpc_server/board_flags.h"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "net/artifact_limit.h"
#include "net/host_port.h"
#include "net/token_file.h"

// The flags, as `--tracker`, `--token-file` ... on the command line: a '-' in a flag's name
// there is a '_' here (kBoardUsage says what each means).
ABSL_FLAG(std::string, tracker, "", "address of the fleettune tracker, HOST:PORT (required)");
ABSL_FLAG(std::string, key, "", "device key this board serves (required)");
ABSL_FLAG(std::string, token_file, "", "the tracker's board token");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA certificates: speak TLS");
ABSL_FLAG(int, tls_error_timeout_s, 30, "exit 2 when a TLS mistake lasts this long");
ABSL_FLAG(int, parent_pid, 0, "exit when this process is no longer the parent");
ABSL_FLAG(int, simulate_ms, 0, "a simulated board answering after this many ms");
ABSL_FLAG(bool, no_reconnect, false, "exit when the tracker goes away");
ABSL_FLAG(bool, no_sandbox, false, "measure in this process");
ABSL_FLAG(bool, emulated, false, "register as an emulated board");
ABSL_FLAG(std::string, sandbox_worker_binary, "", "program started per task");
ABSL_FLAG(int, worker_memory_mb, 0, "the most memory one measurement may allocate");
ABSL_FLAG(int, reference_timeout_ms, 0, "the most a reference kernel may run");
ABSL_FLAG(int, max_artifact_mb, fleettune::net::kDefaultMaxArtifactMb,
          "the largest artifact a task may carry, in MiB");
ABSL_FLAG(std::string, device, "cpu", "where kernels run: cpu, opencl, hexagon");
ABSL_FLAG(int, opencl_device, 0, "OpenCL device index on the platform");
ABSL_FLAG(std::string, opencl_platform, "", "OpenCL platform whose name contains this");
ABSL_FLAG(fleettune::rpc_server::LogLevel, log_level, fleettune::rpc_server::LogLevel::kInfo,
          "the least severe log line written: debug, info, warn, error");

namespace fleettune::rpc_server {

const char kBoardUsage[] =
    "usage: fleettune-rpc-server --tracker HOST:PORT --key KEY\n"
    "\n"
    "Runs a board: connects to the tracker, registers under KEY and measures the kernels\n"
    "it is sent, until SIGINT/SIGTERM. When the tracker goes away it connects again, with\n"
    "backoff from 0.5 s up to 30 s.\n"
    "\n"
    "  --tracker HOST:PORT   address of the fleettune tracker (required)\n"
    "  --key KEY             device key this board serves, e.g. rk3399 (required)\n"
    "  --token-file FILE     the tracker's board token (default: $FLEETTUNE_BOARD_TOKEN)\n"
    "  --tls-ca FILE         PEM CA certificates: speak TLS, and take work only from a\n"
    "                        tracker whose certificate they vouch for\n"
    "  --tls-error-timeout-s N  exit with status 2 when a TLS mistake retrying cannot fix\n"
    "                        (untrusted or misnamed certificate, TLS on one side only)\n"
    "                        lasts N seconds (default 30)\n"
    "  --parent-pid PID      exit when process PID is no longer this board's parent (the\n"
    "                        local boards of `fleettune tune` die with it)\n"
    "  --simulate-ms N       a simulated board for scale tests: runs no code, answers every\n"
    "                        task OK after N ms with a synthetic cost\n"
    "  --no-reconnect        exit when the tracker goes away instead of connecting again\n"
    "  --no-sandbox          measure in this process instead of a child per task (debugging:\n"
    "                        a crashing kernel then takes the board down)\n"
    "  --emulated            register as an emulated board (e.g. under qemu-user): results\n"
    "                        stay checked, but timings say nothing about real hardware\n"
    "  --sandbox-worker-binary FILE\n"
    "                        program started as `FILE --sandbox-worker` for each task\n"
    "                        (default: this binary; under qemu-user, a host wrapper that\n"
    "                        runs it through qemu, see deploy/boards/qemu-aarch64.sh)\n"
    "  --worker-memory-mb N  the most memory one measurement may allocate, in MiB; over it\n"
    "                        an allocation fails and the task is RUNTIME_ERROR (default: 4 x\n"
    "                        the task's tensors + 8 MiB stack per core + 256 MiB)\n"
    "  --reference-timeout-ms N\n"
    "                        the most a reference kernel may run, in ms, before its output is\n"
    "                        cached on this board (once per workload); never less than the\n"
    "                        task's timeout_ms, which then counts from the reference's end.\n"
    "                        Past it the task is REJECTED (default 120000)\n"
    "  --max-artifact-mb N   the largest kernel artifact (shared object) a task may carry\n"
    "                        here, in MiB, at most 1000 (default 512); the tracker fails a\n"
    "                        bigger task REJECTED, naming this limit\n"
    "  --device KIND         where kernels run: cpu (default), opencl (an OpenCL device;\n"
    "                        artifacts are OpenCL C from an `opencl` target), hexagon (a stub\n"
    "                        until a vendor runtime is linked, see rpc_server/device.h)\n"
    "  --opencl-device N     with --device opencl: device index on the platform (default 0)\n"
    "  --opencl-platform NAME  with --device opencl: platform whose name contains NAME\n"
    "  --log-level LEVEL     the least severe line written to stderr: debug (also each task\n"
    "                        measured), info (default: also registrations), warn, or error\n"
    "  --help                show this message\n";

namespace {

// What a flag's value must be, for the message when it is not: "--F must be WHAT, got V".
// Integers must also lie in [min, max].
struct ValueRule {
  absl::string_view flag;  // as on the command line, without "--"
  int min;
  int max;
  absl::string_view what;
};

constexpr ValueRule kValueRules[] = {
    {"tls-error-timeout-s", 1, 3600, "a number of seconds in [1, 3600]"},
    {"parent-pid", 1, 1 << 30, "a process id"},
    {"simulate-ms", 1, 3600000, "a positive number of milliseconds"},
    {"worker-memory-mb", 16, 1 << 24, "a number of MiB in [16, 16777216]"},
    {"reference-timeout-ms", 100, 86400000, "a number of milliseconds in [100, 86400000]"},
    {"max-artifact-mb", 1, fleettune::net::kLargestMaxArtifactMb, "a number of MiB in [1, 1000]"},
    {"opencl-device", 0, 64, "an integer in [0, 64]"},
    {"log-level", 0, 0, "one of debug, info, warn, error"},
};

const ValueRule* FindRule(absl::string_view flag) {
  for (const ValueRule& rule : kValueRules) {
    if (rule.flag == flag) return &rule;
  }
  return nullptr;
}

// A decimal integer, as strtol(text, 10) reads one whole: leading whitespace, a sign, digits.
// Abseil's int flags would also take hexadecimal (0x10) and trailing whitespace.
bool IsDecimal(absl::string_view text) {
  text = absl::StripLeadingAsciiWhitespace(text);
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
  return !text.empty() && std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
}

absl::Status UsageError(absl::string_view message) { return absl::InvalidArgumentError(message); }

// The board flag spelled `name` on the command line (without "--"); null when there is none.
// Only the flags above count, not any other Abseil flag linked into the binary.
absl::CommandLineFlag* FindBoardFlag(absl::string_view name) {
  if (name.empty() || name.find('_') != absl::string_view::npos) return nullptr;
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(absl::StrReplaceAll(name, {{"-", "_"}}));
  const std::string ours = absl::GetFlagReflectionHandle(FLAGS_tracker).Filename();
  return flag != nullptr && flag->Filename() == ours ? flag : nullptr;
}

// Sets `flag`, spelled `name`, from `value`, checking it against its rule.
absl::Status SetFlag(absl::CommandLineFlag& flag, absl::string_view name,
                     const std::string& value) {
  if (value.empty()) return UsageError(absl::StrCat("--", name, " must not be empty"));
  const ValueRule* rule = FindRule(name);
  const auto bad_value = [&] {
    return UsageError(absl::StrCat("--", name, " must be ", rule->what, ", got ", value));
  };
  if (rule != nullptr && flag.IsOfType<int>() && !IsDecimal(value)) return bad_value();
  std::string error;
  if (!flag.ParseFrom(value, &error)) {
    return rule != nullptr ? bad_value() : UsageError(absl::StrCat("--", name, ": ", error));
  }
  if (rule != nullptr && flag.IsOfType<int>()) {
    const int number = *flag.TryGet<int>();
    if (number < rule->min || number > rule->max) return bad_value();
  }
  return absl::OkStatus();
}

// Sets the flags named in argv[1..argc); `help` when --help or -h comes before any mistake.
absl::Status SetFlags(int argc, char** argv, bool& help) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      return absl::OkStatus();
    }
    const size_t eq = arg.find('=');
    const bool has_value = eq != std::string::npos;
    const std::string name = arg.rfind("--", 0) == 0 ? arg.substr(2, eq - 2) : "";
    absl::CommandLineFlag* flag = FindBoardFlag(name);
    if (flag == nullptr) return UsageError("unknown argument " + arg);
    if (flag->IsOfType<bool>()) {  // a switch: present or not
      if (has_value) return UsageError(absl::StrCat("--", name, " takes no value, got ", arg));
      std::string error;
      flag->ParseFrom("true", &error);
      continue;
    }
    if (!has_value && i + 1 >= argc) return UsageError(absl::StrCat("--", name, " needs a value"));
    const std::string value = has_value ? arg.substr(eq + 1) : argv[++i];
    if (absl::Status set = SetFlag(*flag, name, value); !set.ok()) return set;
  }
  return absl::OkStatus();
}

// The path of this executable, the default sandbox worker (sandbox.h); "" when unknown.
std::string SelfPath() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  return n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string();
}

// The board's connection settings: the required --tracker and --key, token, TLS.
absl::Status FillConnection(BoardOptions& board) {
  const std::string tracker = absl::GetFlag(FLAGS_tracker);
  if (tracker.empty()) return UsageError("--tracker is required");
  absl::StatusOr<net::HostPort> address =
      net::ParseHostPort("--tracker", tracker, net::PortZero::kRefused);
  if (!address.ok()) return address.status();
  board.tracker_address = address->ToString();
  board.key = absl::GetFlag(FLAGS_key);
  if (board.key.empty()) return UsageError("--key is required");
  if (const std::string ca = absl::GetFlag(FLAGS_tls_ca); !ca.empty()) {
    absl::StatusOr<std::string> pem =
        net::ReadPemFile("--tls-ca", ca, net::PemContent::kCertificate);
    if (!pem.ok()) return pem.status();
    board.tls_ca_pem = *pem;
  }
  board.tls_error_timeout_ms = absl::GetFlag(FLAGS_tls_error_timeout_s) * 1000;
  absl::StatusOr<std::string> token =
      net::ReadToken("--token-file", absl::GetFlag(FLAGS_token_file), "FLEETTUNE_BOARD_TOKEN");
  if (!token.ok()) return token.status();
  board.token = *token;
  return absl::OkStatus();
}

// How the board measures: sandbox, limits, simulation.
absl::Status FillMeasurement(BoardOptions& board) {
  board.sandbox = !absl::GetFlag(FLAGS_no_sandbox);
  board.emulated = absl::GetFlag(FLAGS_emulated);
  board.simulate_ms = absl::GetFlag(FLAGS_simulate_ms);
  board.worker_memory_mb = absl::GetFlag(FLAGS_worker_memory_mb);
  board.reference_timeout_ms = absl::GetFlag(FLAGS_reference_timeout_ms);
  board.max_artifact_bytes = net::MebibytesToBytes(absl::GetFlag(FLAGS_max_artifact_mb));
  board.sandbox_worker_binary = absl::GetFlag(FLAGS_sandbox_worker_binary);
  if (board.sandbox_worker_binary.empty()) {
    board.sandbox_worker_binary = SelfPath();
  } else if (access(board.sandbox_worker_binary.c_str(), X_OK) != 0) {
    return UsageError("--sandbox-worker-binary " + board.sandbox_worker_binary +
                      " is not an executable file");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BoardCommandLine> ParseBoardCommandLine(int argc, char** argv) {
  BoardCommandLine command_line;
  if (absl::Status set = SetFlags(argc, argv, command_line.help); !set.ok()) return set;
  if (command_line.help) return command_line;
  if (absl::Status ok = FillConnection(command_line.board); !ok.ok()) return ok;
  if (absl::Status ok = FillMeasurement(command_line.board); !ok.ok()) return ok;
  command_line.device.kind = absl::GetFlag(FLAGS_device);
  command_line.device.opencl_device = absl::GetFlag(FLAGS_opencl_device);
  command_line.device.opencl_platform = absl::GetFlag(FLAGS_opencl_platform);
  command_line.reconnect = !absl::GetFlag(FLAGS_no_reconnect);
  command_line.parent_pid = static_cast<pid_t>(absl::GetFlag(FLAGS_parent_pid));
  command_line.log_level = absl::GetFlag(FLAGS_log_level);
  return command_line;
}

}  // namespace fleettune::rpc_server
