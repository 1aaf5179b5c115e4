// Why a gRPC channel to a tracker does not come up, in words an operator can act on. Boards
// (board.h) and tuners (tuner/tracker_client.h) share it, so both name a TLS mistake the same
// way and agree on which mistakes retrying cannot fix. Depends only on gRPC and Abseil.
#ifndef FLEETTUNE_RPC_SERVER_CONNECT_DIAGNOSIS_H_
#define FLEETTUNE_RPC_SERVER_CONNECT_DIAGNOSIS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace grpc {
class Channel;
}

namespace fleettune::rpc_server {

enum class ConnectProblem {
  kUnreachable,             // nothing answers: refused, no route, no DNS name, timeout
  kClosedBeforeGrpc,        // a plaintext channel's peer hung up before speaking HTTP/2
  kUntrustedCertificate,    // the tracker's certificate fails verification against our CA
  kNameMismatch,            // the certificate does not name the host dialled
  kTrackerSpeaksTls,        // a plaintext channel to a TLS tracker (confirmed by a probe)
  kTrackerSpeaksPlaintext,  // a TLS channel to a plaintext tracker
  kUnusableCa,              // gRPC cannot load the CA certificates it was given
};

// What gRPC's last connection error (the RPC status message of a call on a channel in
// TRANSIENT_FAILURE) says, for a channel that speaks TLS (`tls`) or plaintext. Never
// kTrackerSpeaksTls: a plaintext channel sees only a hang-up (kClosedBeforeGrpc), and only a
// TLS probe (DiagnoseChannel) tells a TLS tracker from a proxy whose back end is down.
ConnectProblem ClassifyConnectError(absl::string_view grpc_message, bool tls);

// False for the TLS mistakes: they stay until someone changes a certificate or a flag.
bool RetryingCanFix(ConnectProblem problem);

struct ConnectDiagnosis {
  ConnectProblem problem = ConnectProblem::kUnreachable;
  // What failed and the likely fix, ending with gRPC's own words, e.g. "the tracker speaks
  // TLS: pass --tls-ca with the CA that signed its certificate (gRPC: Socket closed)". It
  // names no address (callers prefix it) and stays the same from one retry to the next.
  std::string message;
  bool retrying_can_fix() const { return RetryingCanFix(problem); }
};

// The diagnosis of `grpc_message` (see ClassifyConnectError) as `problem` shows it.
ConnectDiagnosis Describe(ConnectProblem problem, absl::string_view grpc_message);

// Asks `channel` (to `address`, TLS when `tls`) why it is not connected: a call that fails at
// once with the last connection error while it is in TRANSIENT_FAILURE. A plaintext channel
// whose peer hung up is probed once more over TLS; a TLS handshake there means a TLS tracker.
// nullopt while the channel is still connecting or did connect. Blocks up to about 2 s;
// thread-safe.
std::optional<ConnectDiagnosis> DiagnoseChannel(const std::shared_ptr<grpc::Channel>& channel,
                                                const std::string& address, bool tls);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_CONNECT_DIAGNOSIS_H_
