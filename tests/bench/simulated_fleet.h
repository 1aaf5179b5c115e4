// Simulated boards for scale benchmarks: N in-process rpc_server::Board instances with
// `BoardOptions::simulate_ms` (no code runs; each task is answered OK after that many ms with a
// cost that depends only on its config), each running in its own thread against a real tracker
// over gRPC. fleet_bench holds them in its own process; `simulated_fleet` (simulated_fleet_main.cc)
// runs them as a separate process for benchmarks written in python (web_bench.py).
#ifndef FLEETTUNE_TESTS_BENCH_SIMULATED_FLEET_H_
#define FLEETTUNE_TESTS_BENCH_SIMULATED_FLEET_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "rpc_server/board.h"

namespace fleettune::bench {

struct SimulatedFleetOptions {
  std::string tracker_address;  // HOST:PORT
  std::string key;              // device key every board registers under
  int boards = 1;
  int simulate_ms = 1;  // > 0: the simulated work per task
  std::string token;    // the tracker's board token; empty when it has none
};

// Starts the boards on construction; each connects and registers on its own thread (Run()),
// so registration is asynchronous: ask the tracker how many it holds. A board whose Run()
// returns (the tracker went away or refused it) is not restarted. The destructor stops every
// board and joins its thread. Not copyable; ended() is thread-safe.
class SimulatedFleet {
 public:
  explicit SimulatedFleet(const SimulatedFleetOptions& options);
  ~SimulatedFleet();
  SimulatedFleet(const SimulatedFleet&) = delete;
  SimulatedFleet& operator=(const SimulatedFleet&) = delete;

  // How many boards' Run() has returned so far (0 while all of them serve).
  int ended() const { return ended_.load(); }

 private:
  std::vector<std::unique_ptr<rpc_server::Board>> boards_;
  std::vector<std::thread> threads_;
  std::atomic<int> ended_{0};
};

}  // namespace fleettune::bench

#endif  // FLEETTUNE_TESTS_BENCH_SIMULATED_FLEET_H_
