// The tracker: boards register over a stream by device key; tuners submit batches that are
// queued per key and pushed to free boards; results stream back to the submitter.
#ifndef FLEETTUNE_TRACKER_TRACKER_H_
#define FLEETTUNE_TRACKER_TRACKER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "net/artifact_limit.h"
#include "tracker/event_log.h"

namespace fleettune::tracker {

struct TrackerOptions {
  // host:port to serve on (net::ParseHostPort's form); port 0 picks a free one.
  std::string listen_address = "127.0.0.1:9190";
  // A batch for a device key with no board fails (REJECTED) after this long.
  int64_t no_board_timeout_ms = 60000;
  // A board silent this long (no heartbeat, no result) is dropped and its task re-queued.
  int64_t board_silence_ms = 15000;
  // Shared secrets boards (Connect) and tuning clients (Measure, Status) must present; empty
  // leaves that side open. Read them from a file or the environment, never a command line.
  std::string board_token;
  std::string client_token;
  // TLS: PEM certificate chain and private key of the tracker. Both empty: plaintext (fine on
  // loopback); give both to serve TLS only.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // host:port for Prometheus metrics over HTTP (GET /metrics; port 0 picks one); empty: none.
  std::string metrics_address;
  // host:port for the web page and its JSON API (docs/web.md; port 0 picks one); empty: none.
  // It takes the client token, and serves HTTPS with the TLS certificate when there is one.
  std::string web_address;
  // How long a dropped board stays in Status (lost_boards, state "lost"); 0: not at all.
  int64_t lost_board_retention_ms = 300000;
  // The largest artifact a task may carry (`fleettune tracker --max-artifact-mb`); the gRPC
  // message limit follows from it (net::MessageLimitBytes). Bigger batches are refused.
  int64_t max_artifact_bytes = net::MebibytesToBytes(net::kDefaultMaxArtifactMb);
  // Receives the tracker's events (boards joining, leaving, lost and why, quarantined; batches
  // queued and done) as EventLog describes. Empty: no log.
  EventLog log;
};

// A running tracker server. Thread-safe.
class TrackerServer {
 public:
  // Binds and starts serving. InvalidArgument naming the option when an address is not
  // host:port (net::ParseHostPort) or an option is out of range; Unavailable naming the
  // address when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<TrackerServer>> Start(const TrackerOptions& options);
  virtual ~TrackerServer() = default;

  // The bound port (the real one when the address asked for port 0).
  virtual int port() const = 0;
  // The metrics endpoint's port; 0 without one.
  virtual int metrics_port() const = 0;
  // The web listener's port; 0 without one.
  virtual int web_port() const = 0;
  // Blocks until Shutdown() is called from another thread or a signal handler path.
  virtual void Wait() = 0;
  // Stops accepting work; pending tasks get DEVICE_LOST results; boards' streams end.
  virtual void Shutdown() = 0;
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_TRACKER_H_
