#include "rpc_server/connect_diagnosis.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

namespace fleettune::rpc_server {
namespace {

constexpr std::chrono::seconds kProbeTimeout(1);

// gRPC's reason without its wrapping: "failed to connect to all addresses; last error:
// UNKNOWN: ipv4:127.0.0.1:9190: Socket closed" becomes "Socket closed".
absl::string_view Reason(absl::string_view message) {
  constexpr absl::string_view kLastError = "last error: ";
  if (size_t at = message.find(kLastError); at != absl::string_view::npos) {
    message.remove_prefix(at + kLastError.size());
  }
  // A status code name such as "UNKNOWN: " or "UNAVAILABLE: ".
  if (size_t colon = message.find(": ");
      colon != absl::string_view::npos && colon > 0 &&
      message.substr(0, colon).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") ==
          absl::string_view::npos) {
    message.remove_prefix(colon + 2);
  }
  // The peer address: "ipv4:127.0.0.1:9190: ", "ipv6:[::1]:9190: ".
  if (absl::StartsWith(message, "ipv4:") || absl::StartsWith(message, "ipv6:") ||
      absl::StartsWith(message, "unix:")) {
    if (size_t colon = message.find(": "); colon != absl::string_view::npos) {
      message.remove_prefix(colon + 2);
    }
  }
  return message;
}

// The host in "Peer name HOST is not in peer certificate"; "" when absent.
std::string PeerName(absl::string_view message) {
  constexpr absl::string_view kPrefix = "Peer name ";
  const size_t start = message.find(kPrefix);
  if (start == absl::string_view::npos) return "";
  absl::string_view rest = message.substr(start + kPrefix.size());
  return std::string(rest.substr(0, rest.find(' ')));
}

// The status message of one call on `channel` that does not wait for it to be ready: while
// the channel is in TRANSIENT_FAILURE it fails at once with the last connection error.
// nullopt when the call got through to a server (the channel is up) or timed out.
std::optional<std::string> LastConnectError(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kProbeTimeout);
  grpc::Slice empty(std::string{});
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::Status status;
  absl::Notification done;
  // Any method does: a server that answers (even UNIMPLEMENTED) means the channel is up.
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status result) {
                   status = std::move(result);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return std::nullopt;
  return status.error_message();
}

// Whether `address` answers a TLS handshake: a TLS channel trusting only the default roots
// gets as far as checking the tracker's certificate (or further), where a plaintext server or
// a hang-up fails earlier.
bool SpeaksTls(const std::string& address) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(address, grpc::SslCredentials(grpc::SslCredentialsOptions()));
  if (channel->WaitForConnected(std::chrono::system_clock::now() + kProbeTimeout)) return true;
  if (channel->GetState(false) != GRPC_CHANNEL_TRANSIENT_FAILURE) return false;
  std::optional<std::string> error = LastConnectError(channel);
  if (!error.has_value()) return true;
  const ConnectProblem problem = ClassifyConnectError(*error, /*tls=*/true);
  return problem == ConnectProblem::kUntrustedCertificate ||
         problem == ConnectProblem::kNameMismatch;
}

}  // namespace

ConnectProblem ClassifyConnectError(absl::string_view grpc_message, bool tls) {
  // OpenSSL spells its reasons "certificate verify failed", BoringSSL (Android builds of
  // gRPC) "CERTIFICATE_VERIFY_FAILED".
  const std::string lower = absl::AsciiStrToLower(grpc_message);
  if (absl::StrContains(lower, "certificate verify failed") ||
      absl::StrContains(lower, "certificate_verify_failed")) {
    return ConnectProblem::kUntrustedCertificate;
  }
  if (absl::StrContains(lower, "peer name ") &&
      absl::StrContains(lower, "is not in peer certificate")) {
    return ConnectProblem::kNameMismatch;
  }
  if (tls && (absl::StrContains(lower, "wrong version number") ||
              absl::StrContains(lower, "wrong_version_number"))) {
    return ConnectProblem::kTrackerSpeaksPlaintext;  // the peer answered a TLS hello in clear
  }
  // With roots it cannot load, gRPC fails to create the secure subchannel, and the channel
  // is left with no address to try.
  if (tls && absl::StrContains(lower, "empty address list")) return ConnectProblem::kUnusableCa;
  if (!tls && absl::StrContains(lower, "socket closed")) return ConnectProblem::kClosedBeforeGrpc;
  return ConnectProblem::kUnreachable;
}

bool RetryingCanFix(ConnectProblem problem) {
  switch (problem) {
    case ConnectProblem::kUnreachable:
    case ConnectProblem::kClosedBeforeGrpc:
      return true;
    case ConnectProblem::kUntrustedCertificate:
    case ConnectProblem::kNameMismatch:
    case ConnectProblem::kTrackerSpeaksTls:
    case ConnectProblem::kTrackerSpeaksPlaintext:
    case ConnectProblem::kUnusableCa:
      return false;
  }
  return true;
}

ConnectDiagnosis Describe(ConnectProblem problem, absl::string_view grpc_message) {
  const absl::string_view reason = Reason(grpc_message);
  const std::string grpc_words = absl::StrCat(" (gRPC: ", reason, ")");
  ConnectDiagnosis diagnosis;
  diagnosis.problem = problem;
  switch (problem) {
    case ConnectProblem::kUnreachable:
      diagnosis.message = absl::StrCat("cannot connect: ", reason);
      break;
    case ConnectProblem::kClosedBeforeGrpc:
      diagnosis.message = absl::StrCat(
          "cannot connect: the tracker's address accepts connections but closes them before "
          "speaking gRPC (a proxy whose tracker is down?)",
          grpc_words);
      break;
    case ConnectProblem::kUntrustedCertificate:
      diagnosis.message = absl::StrCat(
          "the tracker's TLS certificate is not signed by the CA in --tls-ca, or it has expired "
          "or is not yet valid: give --tls-ca the CA that signed the tracker's --tls-cert, and "
          "check the certificate's dates (openssl x509 -noout -dates -in CERT)",
          grpc_words);
      break;
    case ConnectProblem::kNameMismatch: {
      std::string host = PeerName(reason);
      if (host.empty()) host = "the host dialled";
      diagnosis.message = absl::StrCat(
          "the tracker's TLS certificate does not name ", host,
          ": dial the tracker by a name its certificate lists (openssl x509 -noout -ext "
          "subjectAltName -in CERT), or give it a certificate for ",
          host, grpc_words);
      break;
    }
    case ConnectProblem::kTrackerSpeaksTls:
      diagnosis.message = absl::StrCat(
          "the tracker speaks TLS: pass --tls-ca with the CA that signed its certificate",
          grpc_words);
      break;
    case ConnectProblem::kTrackerSpeaksPlaintext:
      diagnosis.message = absl::StrCat(
          "the tracker does not speak TLS (it runs without --tls-cert): drop --tls-ca, or start "
          "the tracker with --tls-cert and --tls-key",
          grpc_words);
      break;
    case ConnectProblem::kUnusableCa:
      diagnosis.message = absl::StrCat(
          "gRPC cannot load the CA certificates in --tls-ca: give it a PEM file of CA "
          "certificates",
          grpc_words);
      break;
  }
  return diagnosis;
}

std::optional<ConnectDiagnosis> DiagnoseChannel(const std::shared_ptr<grpc::Channel>& channel,
                                                const std::string& address, bool tls) {
  if (channel->GetState(false) != GRPC_CHANNEL_TRANSIENT_FAILURE) return std::nullopt;
  std::optional<std::string> error = LastConnectError(channel);
  if (!error.has_value()) return std::nullopt;
  ConnectProblem problem = ClassifyConnectError(*error, tls);
  if (problem == ConnectProblem::kClosedBeforeGrpc && SpeaksTls(address)) {
    problem = ConnectProblem::kTrackerSpeaksTls;
  }
  return Describe(problem, *error);
}

}  // namespace fleettune::rpc_server
