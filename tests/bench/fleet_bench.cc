// Fleet scale benchmark: a real tracker (gRPC on loopback) with simulated boards
// (`BoardOptions::simulate_ms`: no code runs; each task is answered after N ms), all in this
// process on this machine. Reports:
//   1. how many boards the tracker holds connected, and how long they took to register;
//   2. dispatched tasks per second and the dispatch overhead per task (submit to result,
//      minus the board's simulated work), median and p99, with every board busy;
//   3. board utilisation (busy time over wall time) with 64 boards and 50 ms tasks.
//
//   fleet_bench [--boards N] [--tasks N] [--quick]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/bench/simulated_fleet.h"
#include "tracker/tracker.h"
#include "tuner/tracker_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using fleettune::bench::SimulatedFleet;
using fleettune::v1::MeasureBatch;
using fleettune::v1::MeasureResult;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// `boards` simulated boards of `key` answering after `work_ms`, on a tracker without tokens.
fleettune::bench::SimulatedFleetOptions FleetOptions(const std::string& address,
                                                     const std::string& key, int boards,
                                                     int work_ms) {
  fleettune::bench::SimulatedFleetOptions options;
  options.tracker_address = address;
  options.key = key;
  options.boards = boards;
  options.simulate_ms = work_ms;
  return options;
}

int RegisteredBoards(fleettune::tuner::TrackerClient& client, const std::string& key) {
  auto status = client.GetStatus();
  if (!status.ok()) return -1;
  int count = 0;
  for (const auto& board : status->boards()) count += board.info().key() == key;
  return count;
}

bool AwaitBoards(fleettune::tuner::TrackerClient& client, const std::string& key, int boards,
                 double timeout_s) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < deadline) {
    if (RegisteredBoards(client, key) >= boards) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

MeasureBatch Batch(const std::string& key, int tasks) {
  MeasureBatch batch;
  batch.set_device_key(key);
  const std::string artifact(4096, '\x42');  // about the size of a small built kernel
  for (int i = 0; i < tasks; ++i) {
    auto* task = batch.add_tasks();
    task->set_client_tag(i);
    task->mutable_artifact()->set_shared_object(artifact);
    task->mutable_options()->set_repeat(3);
    task->mutable_config()->add_knobs()->set_value(i);
  }
  return batch;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  int boards = 1000;
  int tasks = 20000;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      boards = 64;
      tasks = 2000;
    } else if (!std::strcmp(argv[i], "--boards") && i + 1 < argc) {
      boards = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--tasks") && i + 1 < argc) {
      tasks = std::atoi(argv[++i]);
    }
  }
  fleettune::tracker::TrackerOptions options;
  options.listen_address = "127.0.0.1:0";
  auto tracker = fleettune::tracker::TrackerServer::Start(options);
  if (!tracker.ok()) {
    std::fprintf(stderr, "tracker: %s\n", tracker.status().ToString().c_str());
    return 1;
  }
  const std::string address = absl::StrCat("127.0.0.1:", (*tracker)->port());
  auto client = fleettune::tuner::TrackerClient::Connect(address);
  if (!client.ok()) return 1;
  std::printf(
      "fleet scale on %u cores: tracker, boards and client in one process, gRPC on "
      "loopback\n\n",
      std::thread::hardware_concurrency());

  // 1 + 2: many boards, 1 ms of simulated work each, all kept busy.
  {
    constexpr int kWorkMs = 1;
    auto start = Clock::now();
    SimulatedFleet fleet(FleetOptions(address, "scale", boards, kWorkMs));
    const bool all = AwaitBoards(**client, "scale", boards, 120);
    const int held = RegisteredBoards(**client, "scale");
    std::printf("connected boards held:       %d of %d (registered in %.1f s)%s\n", held, boards,
                Seconds(Clock::now() - start), all ? "" : "  NOT ALL REGISTERED");

    // Batches as large as the fleet, so each task meets an idle board: its latency is
    // dispatch overhead plus the simulated work.
    std::vector<double> overhead_ms;
    int done = 0;
    auto throughput_start = Clock::now();
    while (done < tasks) {
      const int n = std::min(boards, tasks - done);
      MeasureBatch batch = Batch("scale", n);
      auto submitted = Clock::now();
      absl::Status measured = (*client)->Measure(batch, [&](const MeasureResult& result) {
        (void)result;
        overhead_ms.push_back(Seconds(Clock::now() - submitted) * 1e3 - kWorkMs);
      });
      if (!measured.ok()) {
        std::fprintf(stderr, "measure: %s\n", measured.ToString().c_str());
        return 1;
      }
      done += n;
    }
    const double wall = Seconds(Clock::now() - throughput_start);
    std::printf("dispatched tasks per second: %.0f (%d tasks, %.2f s)\n", done / wall, done, wall);
    std::printf(
        "  note: a batch of %d tasks to %d idle boards; each task's latency includes\n"
        "  waiting behind the rest of its batch in the tracker's single dispatch path\n",
        std::min(boards, tasks), boards);
    std::printf("task latency minus work:     median %.2f ms, p99 %.2f ms\n",
                Percentile(overhead_ms, 0.5), Percentile(overhead_ms, 0.99));
  }

  // 3: utilisation with 64 boards and 50 ms tasks.
  {
    constexpr int kBoards = 64, kWorkMs = 50, kTasksPerBoard = 40;
    SimulatedFleet fleet(FleetOptions(address, "busy", kBoards, kWorkMs));
    if (!AwaitBoards(**client, "busy", kBoards, 60)) return 1;
    MeasureBatch batch = Batch("busy", kBoards * kTasksPerBoard);
    // Lone-task latency first: one task to an idle fleet.
    std::vector<double> single_ms;
    for (int i = 0; i < 20; ++i) {
      auto start = Clock::now();
      if (!(*client)->Measure(Batch("busy", 1), [](const MeasureResult&) {}).ok()) return 1;
      single_ms.push_back(Seconds(Clock::now() - start) * 1e3 - kWorkMs);
    }
    auto start = Clock::now();
    int results = 0;
    if (!(*client)->Measure(batch, [&](const MeasureResult&) { ++results; }).ok()) return 1;
    const double wall = Seconds(Clock::now() - start);
    const double busy = static_cast<double>(results) * kWorkMs / 1e3;
    std::printf("\nsingle task to an idle board: dispatch overhead median %.2f ms, p99 %.2f ms\n",
                Percentile(single_ms, 0.5), Percentile(single_ms, 0.99));
    std::printf("utilisation, %d boards x %d ms tasks: %.1f%% (%d tasks in %.2f s; ideal %.2f s)\n",
                kBoards, kWorkMs, 100.0 * busy / (kBoards * wall), results, wall, busy / kBoards);
  }
  (*tracker)->Shutdown();
  return 0;
}
