// simulated_fleet: N simulated boards (simulated_fleet.h) in one process, registered with a
// real tracker under one key, until SIGTERM or SIGINT. For benchmarks that need a large fleet
// beside a tracker process they start themselves (web_bench.py).
//
//   simulated_fleet --tracker HOST:PORT --key KEY --boards N --simulate-ms M [--token-file F]
//
// Prints "simulated fleet: N boards of key KEY started" once every board's thread runs (the
// tracker registers them shortly after), and on a stop how many had ended before it.
// Exit status: 0 after a stop, 2 for bad arguments or an unreadable token file.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "net/host_port.h"
#include "net/token_file.h"
#include "tests/bench/simulated_fleet.h"

int main(int argc, char** argv) {
  CLI::App app{"simulated boards registered with a tracker, until SIGTERM/SIGINT"};
  std::string tracker, token_file;
  fleettune::bench::SimulatedFleetOptions options;
  app.add_option("--tracker", tracker, "tracker HOST:PORT")->required();
  app.add_option("--key", options.key, "device key of the boards")->required();
  app.add_option("--boards", options.boards, "how many boards")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--simulate-ms", options.simulate_ms, "simulated work per task, in ms")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str();
  app.add_option("--token-file", token_file,
                 "file holding the tracker's board token (default: $FLEETTUNE_BOARD_TOKEN)");
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<fleettune::net::HostPort> address =
      fleettune::net::ParseHostPort("--tracker", tracker, fleettune::net::PortZero::kRefused);
  absl::StatusOr<std::string> token =
      fleettune::net::ReadToken("--token-file", token_file, "FLEETTUNE_BOARD_TOKEN");
  for (const absl::Status& status : {address.status(), token.status()}) {
    if (!status.ok()) {
      std::fprintf(stderr, "simulated_fleet: %s\n", std::string(status.message()).c_str());
      return 2;
    }
  }
  options.tracker_address = address->ToString();
  options.token = *token;

  // Block the stop signals before the boards start gRPC's threads, so only sigwait takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  {
    fleettune::bench::SimulatedFleet fleet(options);
    std::printf("simulated fleet: %d boards of key %s started\n", options.boards,
                options.key.c_str());
    std::fflush(stdout);
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::printf("simulated fleet: stopping (%d boards had ended)\n", fleet.ended());
    std::fflush(stdout);
  }
  return 0;
}
