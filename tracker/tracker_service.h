// The gRPC face of the tracker: callback-API reactors that adapt the Connect, Measure and
// Status RPCs to the Scheduler. Reactors own themselves and never block; all scheduling
// decisions live in the Scheduler.
#ifndef FLEETTUNE_TRACKER_TRACKER_SERVICE_H_
#define FLEETTUNE_TRACKER_TRACKER_SERVICE_H_

#include <string>
#include <utility>

#include "fleettune/v1/fleettune.grpc.pb.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {

// Shared secrets callers present as `authorization: Bearer <token>` metadata. An empty token
// leaves that kind of call open (fine on loopback, where the tracker listens by default).
struct AccessTokens {
  std::string board;   // Connect
  std::string client;  // Measure and Status
};

// Thread-safe. `scheduler` must outlive the server this service is registered with.
class TrackerService final : public v1::Tracker::CallbackService {
 public:
  TrackerService(Scheduler* scheduler, AccessTokens tokens)
      : scheduler_(scheduler), tokens_(std::move(tokens)) {}

  grpc::ServerBidiReactor<v1::BoardMessage, v1::TrackerMessage>* Connect(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<v1::MeasureResult>* Measure(grpc::CallbackServerContext* context,
                                                       const v1::MeasureBatch* batch) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::StatusRequest* request,
                                   v1::StatusReply* reply) override;

 private:
  Scheduler* const scheduler_;
  const AccessTokens tokens_;
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_TRACKER_SERVICE_H_
