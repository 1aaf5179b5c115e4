#include "tests/bench/simulated_fleet.h"

namespace fleettune::bench {

SimulatedFleet::SimulatedFleet(const SimulatedFleetOptions& options) {
  for (int i = 0; i < options.boards; ++i) {
    rpc_server::BoardOptions board;
    board.tracker_address = options.tracker_address;
    board.key = options.key;
    board.simulate_ms = options.simulate_ms;
    board.token = options.token;
    board.sandbox = false;  // nothing runs, so there is nothing to isolate
    boards_.push_back(std::make_unique<rpc_server::Board>(board));
  }
  for (auto& board : boards_) {
    threads_.emplace_back([this, raw = board.get()] {
      (void)raw->Run();  // its status says why it ended; ended() counts that it did
      ++ended_;
    });
  }
}

SimulatedFleet::~SimulatedFleet() {
  for (auto& board : boards_) board->Stop();
  for (auto& thread : threads_) thread.join();
}

}  // namespace fleettune::bench
