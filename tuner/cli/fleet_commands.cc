// `fleettune tracker`, `status` and `ops`, and the shared error reporting.
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "net/artifact_limit.h"
#include "net/host_port.h"
#include "net/token_file.h"
#include "nlohmann/json.hpp"
#include "rpc_server/grpc_log.h"
#include "spdlog/spdlog.h"
#include "tracker/tracker.h"
#include "tracker/web_api.h"
#include "tuner/cli/commands.h"
#include "tuner/cli/logging.h"
#include "tuner/status_format.h"
#include "tuner/tracker_client.h"

namespace fleettune::cli {

int ReportError(const std::string& command, const absl::Status& status) {
  std::cerr << "fleettune " << command << ": error: " << status.message() << "\n";
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnauthenticated:
      return kExitBadInput;
    default:
      return kExitFailure;
  }
}

absl::StatusOr<std::string> ReadOptionalPem(const char* flag, const std::string& file,
                                            net::PemContent content) {
  if (file.empty()) return std::string();
  return net::ReadPemFile(flag, file, content);
}

absl::StatusOr<TrackerEndpoint> RemoteTracker(const std::string& tracker,
                                              const std::string& token_file,
                                              const std::string& tls_ca) {
  absl::StatusOr<net::HostPort> parsed =
      net::ParseHostPort("--tracker", tracker, net::PortZero::kRefused);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::string> token =
      net::ReadToken("--token-file", token_file, "FLEETTUNE_CLIENT_TOKEN");
  if (!token.ok()) return token.status();
  absl::StatusOr<std::string> ca =
      ReadOptionalPem("--tls-ca", tls_ca, net::PemContent::kCertificate);
  if (!ca.ok()) return ca.status();
  rpc_server::LeaveTlsHandshakeErrorsToDiagnosis();  // Connect names a TLS mistake itself
  TrackerEndpoint endpoint;
  endpoint.address = parsed->ToString();
  endpoint.token = *std::move(token);
  endpoint.tls_ca = *std::move(ca);
  return endpoint;
}

absl::StatusOr<TrackerEndpoint> TrackerOrEmbeddedFleet(
    const std::string& tracker, const std::string& token_file, const std::string& tls_ca,
    const v1::Target& target, const std::string& key, int boards, int max_artifact_mb) {
  if (!tracker.empty()) return RemoteTracker(tracker, token_file, tls_ca);
  if (!tuner::IsHostTarget(target)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "target '%s' is not this machine: local boards can only measure host code; pass "
        "--tracker with boards of it",
        codegen::TargetKey(target)));
  }
  absl::StatusOr<std::unique_ptr<tuner::EmbeddedFleet>> started = tuner::EmbeddedFleet::Start(
      key, boards, absl::Seconds(30), tuner::SystemRandomBytes, max_artifact_mb);
  if (!started.ok()) return started.status();
  TrackerEndpoint endpoint;
  endpoint.fleet = *std::move(started);
  endpoint.address = endpoint.fleet->address();
  endpoint.token = endpoint.fleet->client_token();
  return endpoint;
}

int RunTracker(const TrackerArgs& args) {
  absl::StatusOr<net::HostPort> listen =
      net::ParseHostPort("--listen", args.listen, net::PortZero::kPicksFreePort);
  if (!listen.ok()) return ReportError("tracker", listen.status());
  std::optional<net::HostPort> metrics_listen;  // none unless asked for
  if (!args.metrics_listen.empty()) {
    absl::StatusOr<net::HostPort> parsed =
        net::ParseHostPort("--metrics-listen", args.metrics_listen, net::PortZero::kPicksFreePort);
    if (!parsed.ok()) return ReportError("tracker", parsed.status());
    metrics_listen = *parsed;
  }
  std::optional<net::HostPort> web_listen;  // none unless asked for
  if (!args.web_listen.empty()) {
    absl::StatusOr<net::HostPort> parsed =
        net::ParseHostPort("--web-listen", args.web_listen, net::PortZero::kPicksFreePort);
    if (!parsed.ok()) return ReportError("tracker", parsed.status());
    web_listen = *parsed;
  }
  if (absl::Status limit = net::CheckMaxArtifactMb("--max-artifact-mb", args.max_artifact_mb);
      !limit.ok()) {
    return ReportError("tracker", limit);
  }

  // Block the stop signals before gRPC starts its threads, then wait for one here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  tracker::TrackerOptions options;
  options.listen_address = listen->ToString();
  options.max_artifact_bytes = net::MebibytesToBytes(args.max_artifact_mb);
  options.no_board_timeout_ms = static_cast<int64_t>(args.no_board_timeout_s * 1000);
  options.board_silence_ms = static_cast<int64_t>(args.board_silence_s * 1000);
  options.lost_board_retention_ms = static_cast<int64_t>(args.lost_board_retention_s * 1000);
  options.log = TrackerEventsToLog();  // at --log-level, through the CLI's logger (logging.h)
  absl::StatusOr<std::string> board_token =
      net::ReadToken("--board-token-file", args.board_token_file, "FLEETTUNE_BOARD_TOKEN");
  if (!board_token.ok()) return ReportError("tracker", board_token.status());
  absl::StatusOr<std::string> client_token =
      net::ReadToken("--client-token-file", args.client_token_file, "FLEETTUNE_CLIENT_TOKEN");
  if (!client_token.ok()) return ReportError("tracker", client_token.status());
  options.board_token = *board_token;
  options.client_token = *client_token;
  if (metrics_listen) options.metrics_address = metrics_listen->ToString();
  if (web_listen) options.web_address = web_listen->ToString();
  absl::StatusOr<std::string> cert =
      ReadOptionalPem("--tls-cert", args.tls_cert, net::PemContent::kCertificate);
  if (!cert.ok()) return ReportError("tracker", cert.status());
  absl::StatusOr<std::string> key =
      ReadOptionalPem("--tls-key", args.tls_key, net::PemContent::kPrivateKey);
  if (!key.ok()) return ReportError("tracker", key.status());
  options.tls_cert_pem = *cert;
  options.tls_key_pem = *key;
  absl::StatusOr<std::unique_ptr<tracker::TrackerServer>> server =
      tracker::TrackerServer::Start(options);
  if (!server.ok()) return ReportError("tracker", server.status());
  // The bound ports: the system's choice where the address asked for port 0.
  std::cout << "fleettune tracker listening on "
            << net::HostPort{listen->host, (*server)->port()}.ToString() << std::endl;
  if (metrics_listen) {
    std::cout << "metrics at http://"
              << net::HostPort{metrics_listen->host, (*server)->metrics_port()}.ToString()
              << "/metrics" << std::endl;
  }
  if (web_listen) {
    std::cout << "web page at " << (options.tls_cert_pem.empty() ? "http" : "https") << "://"
              << net::HostPort{web_listen->host, (*server)->web_port()}.ToString() << "/"
              << std::endl;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("{}, shutting down", strsignal(signal_number));
  (*server)->Shutdown();
  return kExitOk;
}

int RunStatus(const std::string& address, const std::string& token_file, const std::string& tls_ca,
              bool json) {
  absl::StatusOr<TrackerEndpoint> tracker = RemoteTracker(address, token_file, tls_ca);
  if (!tracker.ok()) return ReportError("status", tracker.status());
  absl::StatusOr<std::unique_ptr<tuner::TrackerClient>> client =
      tuner::TrackerClient::Connect(tracker->address, tracker->token, tracker->tls_ca);
  if (!client.ok()) return ReportError("status", client.status());
  absl::StatusOr<v1::StatusReply> status = (*client)->GetStatus();
  if (!status.ok()) return ReportError("status", status.status());
  if (json) {
    std::cout << tracker::StatusJson(*status);
  } else {
    std::cout << tuner::FormatStatus(*status);
    for (const v1::BoardStatus& board : status->boards()) {
      if (!board.info().emulated()) continue;
      std::cout << "note: board " << board.board_id() << " (key " << board.info().key()
                << ") is emulated: its results are checked, its timings are meaningless\n";
    }
  }
  return kExitOk;
}

int RunOps(bool json) {
  const std::vector<codegen::OpInfo>& ops = codegen::RegisteredOps();
  if (json) {
    nlohmann::json array = nlohmann::json::array();
    for (const codegen::OpInfo& op : ops) {
      nlohmann::json optional = nlohmann::json::array();
      for (const codegen::OptionalParam& param : op.optional_params) {
        optional.push_back({{"name", param.name},
                            {"default", param.default_value},
                            {"min", param.min_value},
                            {"max", param.max_value},
                            {"help", param.help}});
      }
      array.push_back({{"op", op.name},
                       {"params", op.params},
                       {"optional_params", optional},
                       {"layout", op.layout},
                       {"description", op.description}});
    }
    std::cout << array.dump(2) << "\n";
    return kExitOk;
  }
  for (const codegen::OpInfo& op : ops) {
    std::string optional;
    for (const codegen::OptionalParam& param : op.optional_params) {
      absl::StrAppend(&optional, "[,", param.name, "=", param.default_value, "]");
    }
    std::cout << absl::StrFormat("%-18s %s=...%s\n    %s\n    %s\n", op.name,
                                 absl::StrJoin(op.params, "=...,"), optional, op.layout,
                                 op.description);
  }
  std::cout << "\nA workload is op:param=value,... in this order, e.g. "
               "matmul:m=512,n=512,k=512 or conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,"
               "pad=1,relu=1; dtype=float32 may be added.\n";
  return kExitOk;
}

}  // namespace fleettune::cli
