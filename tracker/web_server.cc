#include "tracker/web_server.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <charconv>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tracker/token_compare.h"
#include "tracker/web_api.h"
#include "tracker/web_assets.h"
#include "tracker/web_sessions.h"

namespace fleettune::tracker {
namespace {

constexpr char kSessionCookie[] = "fleettune_session";
constexpr int64_t kSessionLifetimeMs = 12 * 3600 * 1000;
constexpr size_t kMaxSessions = 1024;
// The login form is the only body the server reads; nothing legitimate comes near this.
constexpr size_t kMaxRequestBodyBytes = 64 * 1024;
// Where the login page shows why the last attempt failed.
constexpr char kLoginErrorMark[] = "<!--login-error-->";

// The page's script and style come from this server only; the login page has no script.
constexpr char kAppPolicy[] =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'";
constexpr char kLoginPolicy[] =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'";

int64_t NowUnixMs() { return absl::ToUnixMillis(absl::Now()); }

absl::string_view ContentType(absl::string_view path) {
  if (absl::EndsWith(path, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(path, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(path, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(path, ".svg")) return "image/svg+xml";
  if (absl::EndsWith(path, ".json")) return "application/json";
  return "application/octet-stream";
}

std::optional<absl::string_view> Asset(absl::string_view path) {
  for (const WebAsset& asset : WebAssets()) {
    if (absl::string_view(asset.path.data(), asset.path.size()) == path) {
      return absl::string_view(asset.body.data(), asset.body.size());
    }
  }
  return std::nullopt;
}

// The value of cookie `name` in the request's Cookie header; "" when absent.
std::string CookieValue(const httplib::Request& request, absl::string_view name) {
  const std::string cookies = request.get_header_value("Cookie");
  for (absl::string_view pair : absl::StrSplit(cookies, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    if (absl::ConsumePrefix(&pair, name) && absl::ConsumePrefix(&pair, "=")) {
      return std::string(pair);
    }
  }
  return "";
}

void SetCommonHeaders(httplib::Response& response, const char* policy) {
  response.set_header("Content-Security-Policy", policy);
  response.set_header("X-Frame-Options", "DENY");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cache-Control", "no-store");
}

// Loads a PEM chain and key into `context`; false when either does not load or they do not
// belong together.
bool LoadCertificate(SSL_CTX& context, const std::string& cert_pem, const std::string& key_pem) {
  BIO* certs = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* leaf = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(&context, leaf) == 1;
  X509_free(leaf);
  while (ok) {  // the rest of the chain, if any
    X509* next = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
    if (next == nullptr) break;
    if (SSL_CTX_add0_chain_cert(&context, next) != 1) {
      X509_free(next);
      ok = false;
    }
  }
  BIO_free(certs);
  ERR_clear_error();  // the end of the chain reads as an error
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  ok = ok && key != nullptr && SSL_CTX_use_PrivateKey(&context, key) == 1 &&
       SSL_CTX_check_private_key(&context) == 1;
  EVP_PKEY_free(key);
  BIO_free(key_bio);
  ok = ok && SSL_CTX_set_min_proto_version(&context, TLS1_2_VERSION) == 1;
  return ok;
}

class HttpWebServer final : public WebServer {
 public:
  HttpWebServer(std::unique_ptr<httplib::Server> server, const Scheduler* scheduler,
                WebServerOptions options, bool tls)
      : server_(std::move(server)),
        scheduler_(scheduler),
        options_(std::move(options)),
        tls_(tls),
        sessions_(kSessionLifetimeMs, kMaxSessions) {
    Route();
  }
  ~HttpWebServer() override {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Listen(const net::HostPort& address) {
    port_ = address.port == 0
                ? server_->bind_to_any_port(address.host)
                : (server_->bind_to_port(address.host, address.port) ? address.port : -1);
    if (port_ <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", address.ToString(), " (--web-listen)"));
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  std::string scheme() const override { return tls_ ? "https" : "http"; }

 private:
  // Whether the caller presented the client token: a live session's cookie, or the token in
  // an Authorization header. Open trackers (no client token) let everyone in.
  bool Authorized(const httplib::Request& request) {
    if (options_.client_token.empty()) return true;
    const std::string authorization = request.get_header_value("Authorization");
    absl::string_view header = authorization;
    if (absl::ConsumePrefix(&header, "Bearer ")) {
      const absl::string_view presented = absl::StripAsciiWhitespace(header);
      return TokensEqual(std::string_view(presented.data(), presented.size()),
                         options_.client_token);
    }
    return sessions_.Valid(CookieValue(request, kSessionCookie), NowUnixMs());
  }

  // The login page, with `error` shown when not empty.
  void LoginPage(httplib::Response& response, int status, const std::string& error) {
    std::string page(Asset("login.html")
                         .value_or("<!doctype html><title>fleettune</title>"
                                   "<p>login page missing from this build</p>"));
    if (!error.empty()) {
      absl::StrReplaceAll(
          {{kLoginErrorMark, absl::StrCat("<p id=\"login-error\">", error, "</p>")}}, &page);
    }
    response.status = status;
    SetCommonHeaders(response, kLoginPolicy);
    response.set_content(page, "text/html; charset=utf-8");
  }

  // What a caller without the token gets: the login page, or a JSON error under /api/.
  void Unauthorized(const httplib::Request& request, httplib::Response& response) {
    if (absl::StartsWith(request.path, "/api/")) {
      Json(response, 401,
           ErrorJson("sign in first: send the tracker's client token as 'Authorization: Bearer "
                     "TOKEN' or through the login form at /"));
      response.set_header("WWW-Authenticate", "Bearer realm=\"fleettune\"");
      return;
    }
    LoginPage(response, 401, "");
  }

  static void Json(httplib::Response& response, int status, const std::string& body) {
    response.status = status;
    SetCommonHeaders(response, kAppPolicy);
    response.set_content(body, "application/json");
  }

  // Registers a GET handler that answers only authorized callers.
  void Get(const std::string& pattern,
           std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    server_->Get(pattern, [this, handler = std::move(handler)](const httplib::Request& request,
                                                               httplib::Response& response) {
      if (!Authorized(request)) return Unauthorized(request, response);
      handler(request, response);
    });
  }

  void Route() {
    // Debian's cpp-httplib 0.11 compresses with brotli whenever a client accepts it, as every
    // browser does, at brotli's slowest quality: 1,000 boards' JSON took 800 ms of the
    // tracker's CPU per poll, against 32 ms with gzip (tests/bench/web_bench.py). The library
    // reads the request's Accept-Encoding when it writes the answer, so the request is told
    // gzip (or nothing) before routing. The Request object is the server's own, not const.
    server_->set_pre_routing_handler([](const httplib::Request& request, httplib::Response&) {
      auto& headers = const_cast<httplib::Request&>(request).headers;
      auto encoding = headers.find("Accept-Encoding");
      if (encoding != headers.end()) {
        const bool gzip = absl::StrContains(encoding->second, "gzip");
        headers.erase(encoding);
        if (gzip) headers.emplace("Accept-Encoding", "gzip");
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_->set_payload_max_length(kMaxRequestBodyBytes);
    server_->set_read_timeout(10, 0);
    server_->Get("/", [this](const httplib::Request& request, httplib::Response& response) {
      if (!Authorized(request)) return LoginPage(response, 200, "");
      SetCommonHeaders(response, kAppPolicy);
      response.set_content(std::string(Asset("index.html").value_or("")),
                           "text/html; charset=utf-8");
    });
    server_->Post("/login", [this](const httplib::Request& request, httplib::Response& response) {
      const std::string token = request.get_param_value("token");
      if (!options_.client_token.empty() && !TokensEqual(token, options_.client_token)) {
        return LoginPage(response, 401, "wrong token: give the tracker's client token");
      }
      if (!options_.client_token.empty()) {
        absl::StatusOr<std::string> session = sessions_.Start(NowUnixMs());
        if (!session.ok()) return LoginPage(response, 500, std::string(session.status().message()));
        response.set_header("Set-Cookie",
                            absl::StrCat(kSessionCookie, "=", *session,
                                         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=",
                                         kSessionLifetimeMs / 1000, tls_ ? "; Secure" : ""));
      }
      SetCommonHeaders(response, kLoginPolicy);
      response.set_redirect("/", 303);
    });
    server_->Post("/logout", [this](const httplib::Request& request, httplib::Response& response) {
      sessions_.End(CookieValue(request, kSessionCookie));
      response.set_header("Set-Cookie", absl::StrCat(kSessionCookie,
                                                     "=; Path=/; HttpOnly; SameSite=Strict; "
                                                     "Max-Age=0",
                                                     tls_ ? "; Secure" : ""));
      SetCommonHeaders(response, kLoginPolicy);
      response.set_redirect("/", 303);
    });
    Get(R"(/static/([A-Za-z0-9_.-]+))",
        [](const httplib::Request& request, httplib::Response& response) {
          const std::string name = request.matches[1];
          std::optional<absl::string_view> body = Asset(name);
          if (!body || name == "login.html" || name == "index.html") {
            return Json(response, 404, ErrorJson(absl::StrCat("no file ", name)));
          }
          SetCommonHeaders(response, kAppPolicy);
          response.set_content(std::string(*body), std::string(ContentType(name)));
        });
    Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& response) {
      Json(response, 200, StatusJson(scheduler_->GetStatus()));
    });
    Get("/api/v1/boards", [this](const httplib::Request&, httplib::Response& response) {
      Json(response, 200, BoardsJson(scheduler_->GetStatus(), NowUnixMs()));
    });
    Get("/api/v1/queues", [this](const httplib::Request&, httplib::Response& response) {
      Json(response, 200, QueuesJson(scheduler_->GetStatus(), NowUnixMs()));
    });
    Get("/api/v1/jobs", [this](const httplib::Request&, httplib::Response& response) {
      Json(response, 200, JobsJson(scheduler_->GetStatus(), NowUnixMs()));
    });
    Get(R"(/api/v1/jobs/(.+)/history)",
        [this](const httplib::Request& request, httplib::Response& response) {
          const std::string name = request.matches[1];
          uint64_t since = 0;
          if (request.has_param("since")) {
            const std::string text = request.get_param_value("since");
            auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), since);
            if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
              return Json(response, 400,
                          ErrorJson(absl::StrCat("since must be a trial number (0 or more), got '",
                                                 text, "'")));
            }
          }
          std::optional<JobHistory::Slice> slice = scheduler_->GetJobHistory(name, since);
          if (!slice) {
            return Json(response, 404,
                        ErrorJson(absl::StrCat("no job named '", name,
                                               "' in the tracker's job history (it keeps the 64 "
                                               "most recent, finished ones for an hour)")));
          }
          Json(response, 200, HistoryJson(*slice));
        });
    // Browsers ask for it on their own; the page names /static/favicon.svg. Empty for all, so
    // a stranger's console shows no 401 and gets nothing.
    server_->Get("/favicon.ico", [](const httplib::Request&, httplib::Response& response) {
      response.status = 204;
    });
    // Paths nobody registered: the login page for strangers, a 404 for the signed-in.
    server_->set_error_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          // httplib calls this for every answer of 400 or more: leave the handlers' own alone.
          if (response.status != 404 || !response.body.empty()) return;
          if (!Authorized(request)) return Unauthorized(request, response);
          Json(response, 404, ErrorJson(absl::StrCat("no such page: ", request.path)));
        });
  }

  std::unique_ptr<httplib::Server> server_;
  const Scheduler* const scheduler_;
  const WebServerOptions options_;
  const bool tls_;
  WebSessions sessions_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Start(const net::HostPort& address,
                                                            const Scheduler* scheduler,
                                                            WebServerOptions options) {
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "the web listener's TLS needs both a certificate and its key");
  }
  const bool tls = !options.tls_cert_pem.empty();
  std::unique_ptr<httplib::Server> server;
  if (tls) {
    bool loaded = false;
    auto secure = std::make_unique<httplib::SSLServer>([&](SSL_CTX& context) {
      loaded = LoadCertificate(context, options.tls_cert_pem, options.tls_key_pem);
      return loaded;
    });
    if (!loaded || !secure->is_valid()) {
      return absl::InvalidArgumentError(
          "the web listener cannot use the tracker's TLS certificate and key (--tls-cert, "
          "--tls-key): not PEM, or the key does not match the certificate");
    }
    server = std::move(secure);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  auto web = std::make_unique<HttpWebServer>(std::move(server), scheduler, std::move(options), tls);
  if (absl::Status listening = web->Listen(address); !listening.ok()) return listening;
  return std::unique_ptr<WebServer>(std::move(web));
}

}  // namespace fleettune::tracker
