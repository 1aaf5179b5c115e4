// The tracker's web page and JSON API over HTTP(S) (`fleettune tracker --web-listen`),
// described in docs/web.md: the page's files are built into the binary (web_assets.h), the
// API reads the scheduler's status and job history, and everything but the login page needs
// the client token (a session cookie from the login form, or an Authorization header).
#ifndef FLEETTUNE_TRACKER_WEB_SERVER_H_
#define FLEETTUNE_TRACKER_WEB_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "net/host_port.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {

struct WebServerOptions {
  // The client token a caller must present; empty: the page and the API are open, as the
  // tracker's Status is.
  std::string client_token;
  // PEM certificate chain and private key: both set, HTTPS only; both empty, plain HTTP.
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

// Serves on its own threads until destroyed. Thread-safe.
class WebServer {
 public:
  // Binds `address` (port 0 picks a free one) and starts serving `scheduler`, which must
  // outlive the server. InvalidArgument naming the problem when the certificate or key does
  // not load; Unavailable naming the address when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<WebServer>> Start(const net::HostPort& address,
                                                          const Scheduler* scheduler,
                                                          WebServerOptions options);
  virtual ~WebServer() = default;
  virtual int port() const = 0;
  // "http" or "https".
  virtual std::string scheme() const = 0;
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_WEB_SERVER_H_
