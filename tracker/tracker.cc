#include "tracker/tracker.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/host_port.h"
#include "tracker/metrics.h"
#include "tracker/scheduler.h"
#include "tracker/tracker_service.h"
#include "tracker/web_server.h"

namespace fleettune::tracker {
namespace {

// How long Shutdown lets streams flush their last results before cancelling them.
constexpr std::chrono::seconds kShutdownGrace(2);

class TrackerServerImpl final : public TrackerServer {
 public:
  TrackerServerImpl(const SchedulerOptions& options, AccessTokens tokens)
      : max_message_bytes_(net::MessageLimitBytes(options.max_artifact_bytes)),
        scheduler_(options),
        service_(&scheduler_, std::move(tokens)) {}
  ~TrackerServerImpl() override {
    Shutdown();
    if (server_ != nullptr) server_->Wait();
  }

  absl::Status Start(const std::string& address, const std::string& cert_pem,
                     const std::string& key_pem) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
    if (!cert_pem.empty()) {
      grpc::SslServerCredentialsOptions ssl;
      ssl.pem_key_cert_pairs.push_back({key_pem, cert_pem});
      credentials = grpc::SslServerCredentials(ssl);
    }
    builder.AddListeningPort(address, credentials, &port_);
    builder.SetMaxReceiveMessageSize(max_message_bytes_);
    builder.SetMaxSendMessageSize(max_message_bytes_);
    // A second tracker on a taken port must fail, not silently share it.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
    }
    expirer_ = std::thread([this] { ExpireLoop(); });
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  int metrics_port() const override { return metrics_ ? metrics_->port() : 0; }
  int web_port() const override { return web_ ? web_->port() : 0; }

  absl::Status StartMetrics(const net::HostPort& address) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> metrics =
        MetricsServer::Start(address, &scheduler_);
    if (!metrics.ok()) return metrics.status();
    metrics_ = *std::move(metrics);
    return absl::OkStatus();
  }

  absl::Status StartWeb(const net::HostPort& address, WebServerOptions options) {
    absl::StatusOr<std::unique_ptr<WebServer>> web =
        WebServer::Start(address, &scheduler_, std::move(options));
    if (!web.ok()) return web.status();
    web_ = *std::move(web);
    return absl::OkStatus();
  }

  void Wait() override {
    if (server_ != nullptr) server_->Wait();
  }

  void Shutdown() override {
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    if (expirer_.joinable()) expirer_.join();
    scheduler_.Shutdown();  // completes every job and closes every board stream
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  }

 private:
  // Leases, silent boards and keys nobody serves are checked twice a second.
  void ExpireLoop() {
    absl::MutexLock lock(&mu_);
    while (!shut_down_) {
      mu_.AwaitWithTimeout(absl::Condition(&shut_down_), absl::Milliseconds(500));
      if (shut_down_) break;
      mu_.Unlock();
      scheduler_.Expire(absl::ToUnixMillis(absl::Now()));
      mu_.Lock();
    }
  }

  const int max_message_bytes_;
  Scheduler scheduler_;  // outlives the server: declared first, destroyed last
  TrackerService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MetricsServer> metrics_;  // reads scheduler_, so declared after it
  std::unique_ptr<WebServer> web_;          // likewise
  int port_ = 0;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::thread expirer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrackerServer>> TrackerServer::Start(const TrackerOptions& options) {
  absl::StatusOr<net::HostPort> listen =
      net::ParseHostPort("listen address", options.listen_address, net::PortZero::kPicksFreePort);
  if (!listen.ok()) return listen.status();
  std::optional<net::HostPort> metrics_address;
  if (!options.metrics_address.empty()) {
    absl::StatusOr<net::HostPort> parsed = net::ParseHostPort(
        "metrics address", options.metrics_address, net::PortZero::kPicksFreePort);
    if (!parsed.ok()) return parsed.status();
    metrics_address = *parsed;
  }
  std::optional<net::HostPort> web_address;
  if (!options.web_address.empty()) {
    absl::StatusOr<net::HostPort> parsed =
        net::ParseHostPort("web address", options.web_address, net::PortZero::kPicksFreePort);
    if (!parsed.ok()) return parsed.status();
    web_address = *parsed;
  }
  if (options.no_board_timeout_ms <= 0 || options.board_silence_ms <= 0) {
    return absl::InvalidArgumentError("tracker timeouts must be positive");
  }
  if (options.lost_board_retention_ms < 0) {
    return absl::InvalidArgumentError("TrackerOptions.lost_board_retention_ms is negative");
  }
  if (options.max_artifact_bytes < 1 ||
      options.max_artifact_bytes > net::MebibytesToBytes(net::kLargestMaxArtifactMb)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TrackerOptions.max_artifact_bytes must lie in [1, ",
        net::MebibytesToBytes(net::kLargestMaxArtifactMb), "], got ", options.max_artifact_bytes));
  }
  SchedulerOptions scheduler_options;
  scheduler_options.max_artifact_bytes = options.max_artifact_bytes;
  scheduler_options.no_board_timeout_ms = options.no_board_timeout_ms;
  scheduler_options.board_silence_ms = options.board_silence_ms;
  scheduler_options.lost_board_retention_ms = options.lost_board_retention_ms;
  scheduler_options.log = options.log;
  auto server = std::make_unique<TrackerServerImpl>(
      scheduler_options, AccessTokens{options.board_token, options.client_token});
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and its private key");
  }
  absl::Status started =
      server->Start(listen->ToString(), options.tls_cert_pem, options.tls_key_pem);
  if (!started.ok()) return started;
  if (metrics_address) {
    absl::Status metrics = server->StartMetrics(*metrics_address);
    if (!metrics.ok()) return metrics;
  }
  if (web_address) {
    WebServerOptions web;
    web.client_token = options.client_token;
    web.tls_cert_pem = options.tls_cert_pem;
    web.tls_key_pem = options.tls_key_pem;
    absl::Status started_web = server->StartWeb(*web_address, std::move(web));
    if (!started_web.ok()) return started_web;
  }
  return std::unique_ptr<TrackerServer>(std::move(server));
}

}  // namespace fleettune::tracker
