#include "tuner/embedded_fleet.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "codegen/target.h"
#include "net/artifact_limit.h"
#include "spdlog/spdlog.h"
#include "tracker/tracker.h"
#include "tuner/tracker_client.h"
#include "util/process.h"

extern char** environ;

namespace fleettune::tuner {
namespace {

constexpr char kRuntimeName[] = "fleettune-rpc-server";

}  // namespace

bool IsHostTarget(const v1::Target& target) {
  absl::StatusOr<v1::Target> host = codegen::ParseTarget("host");
  return host.ok() && host->triple() == target.triple();
}

std::string FindRpcServerBinary() {
  if (const char* env = std::getenv("FLEETTUNE_RPC_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    std::filesystem::path beside = self.parent_path() / kRuntimeName;
    if (std::filesystem::exists(beside)) return beside.string();
  }
  return kRuntimeName;  // resolved through PATH by posix_spawnp
}

absl::StatusOr<std::unique_ptr<EmbeddedFleet>> EmbeddedFleet::Start(
    const std::string& key, int boards, absl::Duration register_timeout,
    RandomBytesFunction random_bytes, int max_artifact_mb) {
  if (absl::Status limit = net::CheckMaxArtifactMb("--max-artifact-mb", max_artifact_mb);
      !limit.ok()) {
    return limit;
  }
  std::unique_ptr<EmbeddedFleet> fleet(new EmbeddedFleet());
  for (std::string* token : {&fleet->board_token_, &fleet->client_token_}) {
    absl::StatusOr<std::string> random = RandomToken(random_bytes);
    if (!random.ok()) {
      return absl::InternalError(absl::StrCat("cannot make the embedded tracker's access tokens: ",
                                              random.status().message()));
    }
    *token = *std::move(random);
  }
  tracker::TrackerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.board_token = fleet->board_token_;
  options.client_token = fleet->client_token_;
  options.max_artifact_bytes = net::MebibytesToBytes(max_artifact_mb);
  // The embedded tracker's routine events (its own boards joining and leaving) are detail
  // under `fleettune tune`: debug. Its warnings (a board hung, past a lease, quarantined) stay.
  options.log = [](tracker::EventSeverity severity, const std::string& line) {
    spdlog::log(
        severity == tracker::EventSeverity::kWarning ? spdlog::level::warn : spdlog::level::debug,
        "embedded tracker: {}", line);
  };
  absl::StatusOr<std::unique_ptr<tracker::TrackerServer>> server =
      tracker::TrackerServer::Start(options);
  if (!server.ok()) return server.status();
  fleet->tracker_ = *std::move(server);
  fleet->address_ = absl::StrCat("127.0.0.1:", fleet->tracker_->port());

  fleet->key_ = key;
  fleet->max_artifact_mb_ = max_artifact_mb;
  fleet->binary_ = FindRpcServerBinary();
  const std::string& binary = fleet->binary_;
  for (int i = 0; i < boards; ++i) {
    absl::StatusOr<pid_t> pid = fleet->SpawnBoard();
    if (!pid.ok()) return pid.status();
    fleet->boards_.push_back(*pid);
  }

  absl::StatusOr<std::unique_ptr<TrackerClient>> client =
      TrackerClient::Connect(fleet->address_, fleet->client_token_);
  if (!client.ok()) return client.status();
  absl::Time deadline = absl::Now() + register_timeout;
  while (true) {
    absl::StatusOr<v1::StatusReply> status = (*client)->GetStatus();
    int registered = 0;
    if (status.ok()) {
      for (const v1::BoardStatus& board : status->boards()) {
        if (board.info().key() == key) ++registered;
      }
    }
    if (registered >= boards) break;
    for (pid_t pid : fleet->boards_) {
      int wstatus = 0;
      if (waitpid(pid, &wstatus, WNOHANG) == pid) {
        fleet->boards_.erase(std::find(fleet->boards_.begin(), fleet->boards_.end(), pid));
        return absl::UnavailableError(
            absl::StrCat("the board runtime '", binary, "' exited before registering (status ",
                         WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, ")"));
      }
    }
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat("only ", registered, " of ", boards,
                                                 " board runtimes ('", binary,
                                                 "') registered with the embedded tracker"));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  fleet->supervisor_ = std::thread([raw = fleet.get()] { raw->SuperviseBoards(); });
  return fleet;
}

absl::StatusOr<pid_t> EmbeddedFleet::SpawnBoard() const {
  // --parent-pid: the board exits when this process dies, even by SIGKILL (no destructor
  // runs then), so no board outlives its tuner and reconnects forever to a tracker that is gone.
  const std::vector<std::string> argv = {binary_,
                                         "--tracker",
                                         address_,
                                         "--key",
                                         key_,
                                         "--parent-pid",
                                         std::to_string(getpid()),
                                         "--max-artifact-mb",
                                         std::to_string(max_artifact_mb_)};
  // The board token goes through the environment, never the command line (ps shows that).
  util::SpawnOptions options;
  options.environment.emplace();
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (std::string_view(*variable).rfind("FLEETTUNE_BOARD_TOKEN=", 0) != 0) {
      options.environment->push_back(*variable);
    }
  }
  options.environment->push_back("FLEETTUNE_BOARD_TOKEN=" + board_token_);
  absl::StatusOr<pid_t> pid = util::SpawnProcess(argv, options);
  if (!pid.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot start the board runtime '", binary_, "': ", pid.status().message()));
  }
  spdlog::debug("started board runtime {} ({} --key {})", *pid, binary_, key_);
  return *pid;
}

void EmbeddedFleet::SuperviseBoards() {
  constexpr int kMaxRestarts = 1000;
  int restarts = 0;
  while (!stopping_.load()) {
    for (pid_t& pid : boards_) {
      int wstatus = 0;
      if (pid <= 0 || waitpid(pid, &wstatus, WNOHANG) != pid) continue;
      spdlog::warn("local board runtime {} {}; {}", pid,
                   WIFSIGNALED(wstatus) ? absl::StrCat("was killed by signal ", WTERMSIG(wstatus))
                                        : absl::StrCat("exited with ", WEXITSTATUS(wstatus)),
                   restarts < kMaxRestarts ? "restarting it" : "giving up");
      pid = -1;
      if (restarts++ >= kMaxRestarts) continue;
      absl::StatusOr<pid_t> restarted = SpawnBoard();
      if (restarted.ok()) pid = *restarted;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

EmbeddedFleet::~EmbeddedFleet() {
  stopping_.store(true);
  if (supervisor_.joinable()) supervisor_.join();
  for (pid_t pid : boards_) {
    if (pid <= 0) continue;
    util::StopProcess(pid, std::chrono::seconds(3));
    spdlog::debug("stopped board runtime {}", pid);
  }
  if (tracker_) tracker_->Shutdown();
}

}  // namespace fleettune::tuner
