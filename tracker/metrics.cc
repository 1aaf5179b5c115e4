#include "tracker/metrics.h"

#include <httplib.h>

#include <map>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fleettune::tracker {
namespace {

// Label values are quoted; backslash, quote and newline are escaped (exposition format).
std::string Label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? 'n' : c;
  }
  return absl::StrCat("\"", out, "\"");
}

void Family(std::string* out, const char* name, const char* type, const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

class HttpMetricsServer final : public MetricsServer {
 public:
  explicit HttpMetricsServer(const Scheduler* scheduler) {
    server_.Get("/metrics", [scheduler](const httplib::Request&, httplib::Response& response) {
      response.set_content(RenderMetrics(*scheduler), "text/plain; version=0.0.4");
    });
    server_.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("ok\n", "text/plain");
    });
  }
  ~HttpMetricsServer() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start(const net::HostPort& address) {
    port_ = address.port == 0
                ? server_.bind_to_any_port(address.host)
                : (server_.bind_to_port(address.host, address.port) ? address.port : -1);
    if (port_ <= 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", address.ToString()));
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return absl::OkStatus();
  }

  int port() const override { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace

std::string RenderMetrics(const Scheduler& scheduler) {
  const v1::StatusReply status = scheduler.GetStatus();
  const Scheduler::Counters counters = scheduler.GetCounters();
  std::string out;

  Family(&out, "fleettune_boards", "gauge", "Connected boards by device key and state.");
  std::map<std::pair<std::string, std::string>, int> boards;
  for (const v1::BoardStatus& board : status.boards()) {
    ++boards[{board.info().key(), board.state()}];
  }
  for (const auto& [labels, count] : boards) {
    absl::StrAppend(&out, "fleettune_boards{key=", Label(labels.first),
                    ",state=", Label(labels.second), "} ", count, "\n");
  }
  Family(&out, "fleettune_queue_pending", "gauge", "Tasks waiting for a board, by device key.");
  for (const v1::QueueStatus& queue : status.queues()) {
    absl::StrAppend(&out, "fleettune_queue_pending{key=", Label(queue.device_key()), "} ",
                    queue.pending(), "\n");
  }
  Family(&out, "fleettune_queue_running", "gauge", "Tasks on boards, by device key.");
  for (const v1::QueueStatus& queue : status.queues()) {
    absl::StrAppend(&out, "fleettune_queue_running{key=", Label(queue.device_key()), "} ",
                    queue.running(), "\n");
  }
  Family(&out, "fleettune_board_tasks_total", "counter",
         "Tasks a connected board finished, by outcome (overturned: it failed them, another board "
         "measured them OK).");
  for (const v1::BoardStatus& board : status.boards()) {
    const std::string labels =
        absl::StrCat("board=", Label(board.board_id()), ",key=", Label(board.info().key()));
    absl::StrAppend(&out, "fleettune_board_tasks_total{", labels, ",outcome=\"done\"} ",
                    board.tasks_done(), "\n");
    absl::StrAppend(&out, "fleettune_board_tasks_total{", labels, ",outcome=\"failed\"} ",
                    board.tasks_failed(), "\n");
    absl::StrAppend(&out, "fleettune_board_tasks_total{", labels, ",outcome=\"overturned\"} ",
                    board.strikes(), "\n");
  }
  Family(&out, "fleettune_board_noise_cv", "gauge",
         "A connected board's measurement noise: the median coefficient of variation (stddev / "
         "mean) of the repeats of its last 64 OK results; boards without one are left out.");
  for (const v1::BoardStatus& board : status.boards()) {
    if (board.noise_samples() == 0) continue;
    absl::StrAppend(&out, "fleettune_board_noise_cv{board=", Label(board.board_id()),
                    ",key=", Label(board.info().key()), "} ", board.noise_cv(), "\n");
  }
  Family(&out, "fleettune_tasks_submitted_total", "counter", "Tasks submitted by tuners.");
  absl::StrAppend(&out, "fleettune_tasks_submitted_total ", counters.tasks_submitted, "\n");
  Family(&out, "fleettune_tasks_dispatched_total", "counter",
         "Tasks pushed to boards, re-dispatches included.");
  absl::StrAppend(&out, "fleettune_tasks_dispatched_total ", counters.tasks_dispatched, "\n");
  Family(&out, "fleettune_boards_lost_total", "counter",
         "Boards lost (stream ended or dropped) while holding a task.");
  absl::StrAppend(&out, "fleettune_boards_lost_total ", counters.boards_lost, "\n");
  Family(&out, "fleettune_boards_dropped_total", "counter",
         "Boards dropped, holding a task or not, by cause (silent, lease_expired, "
         "disconnected).");
  for (const auto& [cause, count] : counters.boards_dropped_by_cause) {
    absl::StrAppend(&out, "fleettune_boards_dropped_total{cause=", Label(cause), "} ", count, "\n");
  }
  Family(&out, "fleettune_results_total", "counter", "Results delivered to tuners, by status.");
  for (const auto& [name, count] : counters.results_by_status) {
    absl::StrAppend(&out, "fleettune_results_total{status=", Label(name), "} ", count, "\n");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const net::HostPort& address,
                                                                    const Scheduler* scheduler) {
  auto server = std::make_unique<HttpMetricsServer>(scheduler);
  absl::Status started = server->Start(address);
  if (!started.ok()) return started;
  return std::unique_ptr<MetricsServer>(std::move(server));
}

}  // namespace fleettune::tracker
