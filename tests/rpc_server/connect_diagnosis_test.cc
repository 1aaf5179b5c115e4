// ClassifyConnectError over the messages gRPC 1.51 (Debian 12, OpenSSL 3.0) really gives for
// each mistake, taken from calls on channels in TRANSIENT_FAILURE against a tracker set up
// with that mistake, and Describe's message for each problem.
#include "rpc_server/connect_diagnosis.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fleettune::rpc_server {
namespace {

struct Case {
  std::string what;
  std::string grpc_message;
  bool tls;
  ConnectProblem problem;
};

const std::vector<Case>& RealMessages() {
  static const std::vector<Case> cases = {
      {"tracker down",
       "failed to connect to all addresses; last error: UNKNOWN: "
       "ipv4:127.0.0.1:24992: Failed to connect to remote host: Connection refused",
       true, ConnectProblem::kUnreachable},
      {"tracker down, plaintext",
       "failed to connect to all addresses; last error: UNKNOWN: "
       "ipv4:127.0.0.1:31897: Failed to connect to remote host: Connection refused",
       false, ConnectProblem::kUnreachable},
      {"no such host",
       "DNS resolution failed for nosuchhost.invalid:1234: C-ares status is not "
       "ARES_SUCCESS qtype=A name=nosuchhost.invalid is_balancer=0: Domain name not found",
       true, ConnectProblem::kUnreachable},
      {"wrong CA",
       "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:37381: "
       "Ssl handshake failed: SSL_ERROR_SSL: error:0A000086:SSL routines::certificate verify "
       "failed",
       true, ConnectProblem::kUntrustedCertificate},
      // An expired certificate fails the same verification, with the same words.
      {"expired certificate",
       "failed to connect to all addresses; last error: UNKNOWN: "
       "ipv4:127.0.0.1:38205: Ssl handshake failed: SSL_ERROR_SSL: error:0A000086:SSL "
       "routines::certificate verify failed",
       true, ConnectProblem::kUntrustedCertificate},
      // gRPC built with BoringSSL (e.g. for Android) spells the reason in capitals.
      {"wrong CA, BoringSSL",
       "failed to connect to all addresses; last error: UNKNOWN: "
       "ipv4:10.0.0.2:9190: Ssl handshake failed: SSL_ERROR_SSL: error:1000007d:SSL "
       "routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED",
       true, ConnectProblem::kUntrustedCertificate},
      {"name mismatch",
       "failed to connect to all addresses; last error: UNKNOWN: "
       "ipv4:127.0.0.1:27939: Peer name 127.0.0.1 is not in peer certificate",
       true, ConnectProblem::kNameMismatch},
      {"plaintext board, TLS tracker",
       "failed to connect to all addresses; last error: "
       "UNAVAILABLE: ipv4:127.0.0.1:22225: Socket closed",
       false, ConnectProblem::kClosedBeforeGrpc},
      {"TLS board, plaintext tracker",
       "failed to connect to all addresses; last error: UNKNOWN: "
       "ipv4:127.0.0.1:25169: Ssl handshake failed: SSL_ERROR_SSL: error:0A00010B:SSL "
       "routines::wrong version number",
       true, ConnectProblem::kTrackerSpeaksPlaintext},
      {"CA file gRPC cannot load", "empty address list: ", true, ConnectProblem::kUnusableCa},
  };
  return cases;
}

TEST(ConnectDiagnosisTest, ClassifiesWhatGrpcReallySays) {
  for (const Case& c : RealMessages()) {
    EXPECT_EQ(ClassifyConnectError(c.grpc_message, c.tls), c.problem) << c.what;
  }
}

TEST(ConnectDiagnosisTest, OnlyAMistakeThatStaysIsFinal) {
  EXPECT_TRUE(RetryingCanFix(ConnectProblem::kUnreachable));
  EXPECT_TRUE(RetryingCanFix(ConnectProblem::kClosedBeforeGrpc));  // a proxy whose tracker is down
  EXPECT_FALSE(RetryingCanFix(ConnectProblem::kUntrustedCertificate));
  EXPECT_FALSE(RetryingCanFix(ConnectProblem::kNameMismatch));
  EXPECT_FALSE(RetryingCanFix(ConnectProblem::kTrackerSpeaksTls));
  EXPECT_FALSE(RetryingCanFix(ConnectProblem::kTrackerSpeaksPlaintext));
  EXPECT_FALSE(RetryingCanFix(ConnectProblem::kUnusableCa));
}

TEST(ConnectDiagnosisTest, MessagesNameTheMistakeTheFixAndGrpcsReason) {
  const std::string closed =
      "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:22225: Socket "
      "closed";
  EXPECT_EQ(Describe(ConnectProblem::kTrackerSpeaksTls, closed).message,
            "the tracker speaks TLS: pass --tls-ca with the CA that signed its certificate "
            "(gRPC: Socket closed)");
  EXPECT_EQ(Describe(ConnectProblem::kUnreachable,
                     "failed to connect to all addresses; last error: UNKNOWN: "
                     "ipv4:127.0.0.1:24992: Failed to connect to remote host: Connection refused")
                .message,
            "cannot connect: Failed to connect to remote host: Connection refused");
  const ConnectDiagnosis wrong_ca = Describe(
      ConnectProblem::kUntrustedCertificate,
      "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:37381: Ssl "
      "handshake failed: SSL_ERROR_SSL: error:0A000086:SSL routines::certificate verify failed");
  EXPECT_EQ(wrong_ca.message,
            "the tracker's TLS certificate is not signed by the CA in --tls-ca, or it has expired "
            "or is not yet valid: give --tls-ca the CA that signed the tracker's --tls-cert, and "
            "check the certificate's dates (openssl x509 -noout -dates -in CERT) (gRPC: Ssl "
            "handshake failed: SSL_ERROR_SSL: error:0A000086:SSL routines::certificate verify "
            "failed)");
  EXPECT_FALSE(wrong_ca.retrying_can_fix());
  const ConnectDiagnosis misnamed =
      Describe(ConnectProblem::kNameMismatch,
               "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:27939: "
               "Peer name 127.0.0.1 is not in peer certificate");
  EXPECT_EQ(misnamed.message.find("the tracker's TLS certificate does not name 127.0.0.1: "), 0u)
      << misnamed.message;
  EXPECT_NE(Describe(ConnectProblem::kTrackerSpeaksPlaintext, "wrong version number")
                .message.find("drop --tls-ca"),
            std::string::npos);
}

}  // namespace
}  // namespace fleettune::rpc_server
