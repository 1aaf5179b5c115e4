// A tracker and board runtimes on loopback, started by `fleettune tune` without --tracker so
// that one command runs a whole job on this machine.
#ifndef FLEETTUNE_TUNER_EMBEDDED_FLEET_H_
#define FLEETTUNE_TUNER_EMBEDDED_FLEET_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fleettune/v1/fleettune.pb.h"
#include "net/artifact_limit.h"
#include "tuner/random_token.h"

namespace fleettune::tracker {
class TrackerServer;
}

namespace fleettune::tuner {

// The board runtime binary: $FLEETTUNE_RPC_SERVER if set, else `fleettune-rpc-server` beside
// the running executable, else the one on PATH.
std::string FindRpcServerBinary();

// Boards of the embedded fleet run on this machine, so they can only measure code for a
// target of the host's architecture (its triple).
bool IsHostTarget(const v1::Target& target);

class EmbeddedFleet {
 public:
  // Starts an in-process tracker on 127.0.0.1 (a free port) and `boards` board runtime
  // processes serving `key`, and waits until all have registered. Unavailable naming the
  // runtime binary when they do not register within `register_timeout`. A board process
  // that dies later (a kernel that crashes it) is restarted, so the job goes on: the tracker
  // re-queues the lost task once and reports DEVICE_LOST if it is lost again. The boards run
  // with --parent-pid of this process, so they exit when it dies, even by SIGKILL.
  // The tracker's tokens come from `random_bytes` (RandomToken): when it fails, Internal
  // "cannot make the embedded tracker's access tokens: ..." and nothing is started.
  // `max_artifact_mb` is the artifact limit of the tracker and the boards (their
  // --max-artifact-mb): InvalidArgument outside net::CheckMaxArtifactMb's range.
  static absl::StatusOr<std::unique_ptr<EmbeddedFleet>> Start(
      const std::string& key, int boards, absl::Duration register_timeout = absl::Seconds(30),
      RandomBytesFunction random_bytes = SystemRandomBytes,
      int max_artifact_mb = net::kDefaultMaxArtifactMb);
  // Stops the boards (SIGTERM, then SIGKILL after a grace period) and the tracker.
  ~EmbeddedFleet();

  const std::string& address() const { return address_; }
  // The embedded tracker takes calls only with these (random per fleet): other local users
  // can neither submit code to its boards nor pose as a board.
  const std::string& client_token() const { return client_token_; }

 private:
  EmbeddedFleet() = default;
  absl::StatusOr<pid_t> SpawnBoard() const;
  void SuperviseBoards();

  std::unique_ptr<tracker::TrackerServer> tracker_;
  std::string address_;
  std::string key_;
  int max_artifact_mb_ = net::kDefaultMaxArtifactMb;
  std::string board_token_;
  std::string client_token_;
  std::string binary_;
  std::vector<pid_t> boards_;  // owned by the supervisor thread once it runs
  std::atomic<bool> stopping_{false};
  std::thread supervisor_;
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_EMBEDDED_FLEET_H_
