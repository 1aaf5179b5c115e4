// The tracker's web listener over real HTTP(S) on loopback (tracker/web_server.h): who gets
// what without the client token, the login form's session cookie and logout, the bearer
// header, the JSON API's answers and errors, the built-in files, and TLS with the tracker's
// certificate. The browser's view of the page is tests/web/web_browser_test.py.
#include "tracker/web_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "tests/integration/certificates.h"
#include "tests/tracker/scheduler_fakes.h"
#include "tracker/scheduler.h"
#include "tracker/web_assets.h"

namespace fleettune::tracker {
namespace {

constexpr char kToken[] = "s3cret-client-token";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string AssetBody(std::string_view path) {
  for (const WebAsset& asset : WebAssets()) {
    if (asset.path == path) return std::string(asset.body);
  }
  return "";
}

class WebServerTest : public ::testing::Test {
 protected:
  void Start(const std::string& token) {
    WebServerOptions options;
    options.client_token = token;
    absl::StatusOr<std::unique_ptr<WebServer>> started =
        WebServer::Start({"127.0.0.1", 0}, &scheduler_, options);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  // A finished job "job-x" of two trials: one OK at 1 ms (2 GFLOPS), one TIMEOUT.
  void RunJob() {
    const std::string board_id = scheduler_.NextBoardId();
    v1::DeviceInfo info;
    info.set_key("k");
    info.set_model("Raspberry Pi 4");
    ASSERT_TRUE(scheduler_.AddBoard(board_id, info, &board_).ok());
    v1::MeasureBatch batch;
    batch.set_device_key("k");
    batch.set_job_name("matmul:m=8@1");
    for (int i = 0; i < 2; ++i) {
      v1::MeasureTask* task = batch.add_tasks();
      task->set_client_tag(i);
      task->set_flops(2e6);
      task->set_workload_key("matmul:m=8");
    }
    ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink_).ok());
    v1::MeasureResult ok;
    ok.set_task_id(board_.tasks.at(0).task_id());
    ok.set_status(v1::OK);
    ok.add_costs(1e-3);
    ASSERT_TRUE(scheduler_.OnBoardResult(board_id, ok).ok());
    v1::MeasureResult timeout;
    timeout.set_task_id(board_.tasks.at(1).task_id());
    timeout.set_status(v1::TIMEOUT);
    ASSERT_TRUE(scheduler_.OnBoardResult(board_id, timeout).ok());
  }

  Scheduler scheduler_;
  FakeBoard board_;
  FakeSink sink_;
  std::unique_ptr<WebServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(WebServerTest, StrangersGetOnlyTheLoginPage) {
  Start(kToken);
  ASSERT_FALSE(AssetBody("login.html").empty()) << "web/login.html is not built in";
  httplib::Result root = client_->Get("/");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 200);
  EXPECT_TRUE(absl::StrContains(root->body, "id=\"login\"")) << root->body;
  EXPECT_FALSE(absl::StrContains(root->body, kToken));
  EXPECT_EQ(root->get_header_value("Content-Security-Policy").find("script-src"),
            std::string::npos);  // the login page runs no script

  for (const char* path : {"/static/app.js", "/static/style.css", "/anything", "/static/x"}) {
    httplib::Result page = client_->Get(path);
    ASSERT_TRUE(page) << path;
    EXPECT_EQ(page->status, 401) << path;
    EXPECT_TRUE(absl::StrContains(page->body, "id=\"login\"")) << path;
  }
  for (const char* path : {"/api/v1/boards", "/api/v1/status", "/api/v1/jobs", "/api/v1/queues",
                           "/api/v1/jobs/x/history"}) {
    httplib::Result api = client_->Get(path);
    ASSERT_TRUE(api) << path;
    EXPECT_EQ(api->status, 401) << path;
    EXPECT_TRUE(nlohmann::json::parse(api->body).contains("error")) << path;
  }
  httplib::Result wrong = client_->Get("/api/v1/boards", {{"Authorization", "Bearer nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
}

TEST_F(WebServerTest, LoginFormStartsASessionAndLogoutEndsIt) {
  Start(kToken);
  httplib::Result wrong =
      client_->Post("/login", "token=guess", "application/x-www-form-urlencoded");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_TRUE(absl::StrContains(wrong->body, "id=\"login-error\"")) << wrong->body;
  EXPECT_FALSE(wrong->has_header("Set-Cookie"));

  httplib::Result right =
      client_->Post("/login", std::string("token=") + kToken, "application/x-www-form-urlencoded");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 303);
  EXPECT_EQ(right->get_header_value("Location"), "/");
  const std::string cookie = right->get_header_value("Set-Cookie");
  EXPECT_TRUE(absl::StrContains(cookie, "HttpOnly")) << cookie;
  EXPECT_TRUE(absl::StrContains(cookie, "SameSite=Strict")) << cookie;
  EXPECT_FALSE(absl::StrContains(cookie, kToken)) << cookie;
  const std::string session = cookie.substr(0, cookie.find(';'));

  httplib::Result app = client_->Get("/", {{"Cookie", session}});
  ASSERT_TRUE(app);
  EXPECT_EQ(app->status, 200);
  EXPECT_EQ(app->body, AssetBody("index.html"));
  httplib::Result script = client_->Get("/static/app.js", {{"Cookie", session}});
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->body, AssetBody("app.js"));
  EXPECT_TRUE(absl::StartsWith(script->get_header_value("Content-Type"), "text/javascript"));
  httplib::Result missing = client_->Get("/static/nope.js", {{"Cookie", session}});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  ASSERT_TRUE(client_->Post("/logout", {{"Cookie", session}}, "", "text/plain"));
  httplib::Result after = client_->Get("/api/v1/boards", {{"Cookie", session}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
  httplib::Result forged = client_->Get("/api/v1/boards", {{"Cookie", "fleettune_session=00"}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
}

TEST_F(WebServerTest, ApiAnswersTheStatusAndAJobsHistory) {
  Start(kToken);
  RunJob();
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};

  httplib::Result boards = client_->Get("/api/v1/boards", auth);
  ASSERT_TRUE(boards);
  ASSERT_EQ(boards->status, 200);
  const nlohmann::json board_list = nlohmann::json::parse(boards->body);
  ASSERT_EQ(board_list["boards"].size(), 1u);
  EXPECT_EQ(board_list["boards"][0]["info"]["model"], "Raspberry Pi 4");
  EXPECT_EQ(board_list["boards"][0]["tasksDone"], "1");
  EXPECT_EQ(board_list["boards"][0]["tasksFailed"], "1");
  EXPECT_NE(board_list["boards"][0]["lastSeenUnixMs"], "0");
  EXPECT_TRUE(board_list["lostBoards"].empty());

  // What a browser accepts: gzip, never the library's slow brotli.
  httplib::Result compressed =
      client_->Get("/api/v1/boards", {{"Authorization", std::string("Bearer ") + kToken},
                                      {"Accept-Encoding", "gzip, deflate, br, zstd"}});
  ASSERT_TRUE(compressed);
  EXPECT_EQ(compressed->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(nlohmann::json::parse(compressed->body)["boards"].size(), 1u);

  httplib::Result jobs = client_->Get("/api/v1/jobs", auth);
  ASSERT_TRUE(jobs);
  const nlohmann::json job_list = nlohmann::json::parse(jobs->body)["jobs"];
  ASSERT_EQ(job_list.size(), 1u);
  EXPECT_EQ(job_list[0]["name"], "matmul:m=8@1");
  EXPECT_EQ(job_list[0]["state"], "running");  // no plan: quiet for less than a minute
  EXPECT_EQ(job_list[0]["trials"], "2");
  EXPECT_EQ(job_list[0]["failures"]["TIMEOUT"], "1");
  EXPECT_DOUBLE_EQ(job_list[0]["bestGflops"].get<double>(), 2.0);

  // The name as a browser's encodeURIComponent sends it.
  httplib::Result history = client_->Get("/api/v1/jobs/matmul%3Am%3D8%401/history?since=1", auth);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->status, 200) << history->body;
  const nlohmann::json slice = nlohmann::json::parse(history->body);
  EXPECT_EQ(slice["first"], 1);
  EXPECT_EQ(slice["next"], 2);
  EXPECT_EQ(slice["trials"]["status"], nlohmann::json::array({"TIMEOUT"}));
  EXPECT_EQ(slice["workloads"], nlohmann::json::array({"matmul:m=8"}));

  httplib::Result status = client_->Get("/api/v1/status", auth);
  ASSERT_TRUE(status);
  const nlohmann::json whole = nlohmann::json::parse(status->body);
  EXPECT_EQ(whole["boards"].size(), 1u);
  EXPECT_EQ(whole["jobSummaries"].size(), 1u);
  EXPECT_FALSE(whole["version"].get<std::string>().empty());

  httplib::Result unknown = client_->Get("/api/v1/jobs/none/history", auth);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_TRUE(absl::StrContains(nlohmann::json::parse(unknown->body)["error"].get<std::string>(),
                                "no job named 'none'"));
  httplib::Result bad = client_->Get("/api/v1/jobs/matmul%3Am%3D8%401/history?since=-1", auth);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  httplib::Result nowhere = client_->Get("/api/v1/nothing", auth);
  ASSERT_TRUE(nowhere);
  EXPECT_EQ(nowhere->status, 404);
}

TEST_F(WebServerTest, OversizedLoginBodyIsRefused) {
  Start(kToken);
  httplib::Result big = client_->Post("/login", "token=" + std::string(1 << 20, 'a'),
                                      "application/x-www-form-urlencoded");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
}

TEST_F(WebServerTest, OpenTrackerServesThePageToAnyone) {
  Start("");
  httplib::Result app = client_->Get("/");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->body, AssetBody("index.html"));
  httplib::Result boards = client_->Get("/api/v1/boards");
  ASSERT_TRUE(boards);
  EXPECT_EQ(boards->status, 200);
}

TEST_F(WebServerTest, ServesHttpsOnlyWithTheTrackersCertificate) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "web_server_tls";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(fleettune::testing::MakeCertificates(dir, "web"));
  WebServerOptions options;
  options.client_token = kToken;
  options.tls_cert_pem = ReadFile(dir / "web.pem");
  options.tls_key_pem = ReadFile(dir / "web.key");
  absl::StatusOr<std::unique_ptr<WebServer>> started =
      WebServer::Start({"127.0.0.1", 0}, &scheduler_, options);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ((*started)->scheme(), "https");

  httplib::SSLClient secure("127.0.0.1", (*started)->port());
  secure.set_ca_cert_path((dir / "web-ca.pem").c_str());
  secure.enable_server_certificate_verification(true);
  httplib::Result boards =
      secure.Get("/api/v1/boards", {{"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_TRUE(boards) << httplib::to_string(boards.error());
  EXPECT_EQ(boards->status, 200);
  httplib::Result login =
      secure.Post("/login", std::string("token=") + kToken, "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_TRUE(absl::StrContains(login->get_header_value("Set-Cookie"), "; Secure"));

  httplib::Client plain("127.0.0.1", (*started)->port());
  plain.set_connection_timeout(2);
  plain.set_read_timeout(2);
  httplib::Result refused = plain.Get("/api/v1/boards");
  EXPECT_TRUE(!refused || refused->status != 200);

  options.tls_key_pem = "not a key";
  absl::StatusOr<std::unique_ptr<WebServer>> broken =
      WebServer::Start({"127.0.0.1", 0}, &scheduler_, options);
  ASSERT_FALSE(broken.ok());
  EXPECT_TRUE(absl::StrContains(broken.status().message(), "--tls-key")) << broken.status();
}

}  // namespace
}  // namespace fleettune::tracker
