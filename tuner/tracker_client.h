// The tuner's client of a tracker: submits measurement batches and streams their results
// back, and reads the tracker's status (`fleettune status`).
#ifndef FLEETTUNE_TUNER_TRACKER_CLIENT_H_
#define FLEETTUNE_TUNER_TRACKER_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.grpc.pb.h"

namespace fleettune::tuner {

// A connection to one tracker. Thread-safe: several threads may Measure at once.
class TrackerClient {
 public:
  // Connects to `address` (host:port) and waits up to 10 s for the channel to come up.
  // `token`, when not empty, goes with every call as `authorization: Bearer <token>` (the
  // tracker's client token). InvalidArgument when the address is empty; Unavailable naming
  // it, and gRPC's reason, when unreachable; FailedPrecondition at once, naming the mistake
  // and its fix, for a TLS mistake (rpc_server/connect_diagnosis.h). A wrong token shows on
  // the first call, as Unauthenticated.
  // `tls_ca_pem`, when not empty, makes the connection TLS, trusting only those roots.
  // `max_artifact_bytes` is the largest artifact Measure sends (the command's
  // --max-artifact-mb); the channel's message limit follows from it (net::MessageLimitBytes).
  static absl::StatusOr<std::unique_ptr<TrackerClient>> Connect(
      const std::string& address, const std::string& token = "", const std::string& tls_ca_pem = "",
      int64_t max_artifact_bytes = kDefaultMaxArtifactBytes);

  // 512 MiB, net::kDefaultMaxArtifactMb.
  static constexpr int64_t kDefaultMaxArtifactBytes = int64_t{512} << 20;

  // Submits `batch` and blocks until every task has a result, calling `on_result` on this
  // thread for each result as it arrives (in completion order). InvalidArgument before
  // anything is sent when an artifact is over max_artifact_bytes (net::ArtifactTooLarge,
  // naming --max-artifact-mb). On a tracker-side rejection the tracker's code and message come
  // back (e.g. InvalidArgument naming the bad field; ResourceExhausted, naming the options
  // that raise the limit, for a batch over a gRPC message limit);
  // when the stream breaks, Unavailable with the gRPC message. Results already delivered
  // stay delivered; the caller owns retrying the rest.
  absl::Status Measure(const v1::MeasureBatch& batch,
                       const std::function<void(const v1::MeasureResult&)>& on_result);

  // Measure that outlives a tracker restart (which loses the tracker's queues): while the
  // stream breaks with Unavailable, resubmits the tasks without a result, waiting 250 ms
  // doubling to 4 s between tries. `on_result` sees each task's first result only (others
  // and unknown client tags are dropped) and returns false to stop resubmitting; the stream
  // under way still runs to its end. Returns OK when a stream ends cleanly (a task it left
  // without a result is the caller's to record as lost); the last Measure's error when
  // `on_result` stopped it or the error is not Unavailable; Unavailable "the tracker at
  // <address> has been unreachable for <N> s: ..." when no new result came for `outage_limit`.
  absl::Status MeasureResubmitting(const v1::MeasureBatch& batch, std::chrono::seconds outage_limit,
                                   const std::function<bool(const v1::MeasureResult&)>& on_result);

  // The tracker's boards and queues. Unavailable (or the RPC's code) on failure.
  absl::StatusOr<v1::StatusReply> GetStatus();

  const std::string& address() const { return address_; }

 private:
  TrackerClient(std::string address, std::string token, int64_t max_artifact_bytes,
                std::unique_ptr<v1::Tracker::Stub> stub)
      : address_(std::move(address)),
        token_(std::move(token)),
        max_artifact_bytes_(max_artifact_bytes),
        stub_(std::move(stub)) {}
  void Authorize(grpc::ClientContext* context) const;

  const std::string address_;
  const std::string token_;
  const int64_t max_artifact_bytes_;
  const std::unique_ptr<v1::Tracker::Stub> stub_;
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_TRACKER_CLIENT_H_
