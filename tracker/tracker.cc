#include "tracker/tracker.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tracker/scheduler.h"
#include "tracker/tracker_service.h"

namespace fleettune::tracker {
namespace {

constexpr int kMaxMessageBytes = 64 << 20;
// How long Shutdown lets streams flush their last results before cancelling them.
constexpr std::chrono::seconds kShutdownGrace(2);

class TrackerServerImpl final : public TrackerServer {
 public:
  TrackerServerImpl() : service_(&scheduler_) {}
  ~TrackerServerImpl() override {
    Shutdown();
    if (server_ != nullptr) server_->Wait();
  }

  absl::Status Start(const std::string& address) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
    builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
    builder.SetMaxSendMessageSize(kMaxMessageBytes);
    // A second tracker on a taken port must fail, not silently share it.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
    }
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  void Wait() override {
    if (server_ != nullptr) server_->Wait();
  }

  void Shutdown() override {
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    scheduler_.Shutdown();  // completes every job and closes every board stream
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  }

 private:
  Scheduler scheduler_;  // outlives the server: declared first, destroyed last
  TrackerService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrackerServer>> TrackerServer::Start(const TrackerOptions& options) {
  if (options.listen_address.empty()) {
    return absl::InvalidArgumentError("TrackerOptions.listen_address is empty");
  }
  auto server = std::make_unique<TrackerServerImpl>();
  absl::Status started = server->Start(options.listen_address);
  if (!started.ok()) return started;
  return std::unique_ptr<TrackerServer>(std::move(server));
}

}  // namespace fleettune::tracker
