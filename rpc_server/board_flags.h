// The board runtime's command line: `fleettune-rpc-server --tracker HOST:PORT --key KEY ...`.
// Its flags are Abseil flags defined in board_flags.cc; this file turns argv into the checked
// settings the runtime runs with, and says what is wrong with a command line that is not one.
#ifndef FLEETTUNE_RPC_SERVER_BOARD_FLAGS_H_
#define FLEETTUNE_RPC_SERVER_BOARD_FLAGS_H_

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "rpc_server/board.h"
#include "rpc_server/device.h"
#include "rpc_server/log.h"

namespace fleettune::rpc_server {

// What `fleettune-rpc-server --help` prints.
extern const char kBoardUsage[];

// A command line's settings, every value checked.
struct BoardCommandLine {
  bool help = false;  // --help or -h: print kBoardUsage and exit 0; nothing else is set
  // --tracker (canonical HOST:PORT), --key, the token (--token-file or
  // $FLEETTUNE_BOARD_TOKEN), the --tls-ca PEM, and the sandbox and simulation settings.
  // `device` is left null: CreateDevice(device) makes it, and may fail at run time.
  BoardOptions board;
  DeviceOptions device;                  // --device, --opencl-device, --opencl-platform
  bool reconnect = true;                 // false with --no-reconnect
  pid_t parent_pid = 0;                  // --parent-pid; 0: none
  LogLevel log_level = LogLevel::kInfo;  // --log-level
};

// Parses argv[1..argc) (flags as `--name value` or `--name=value`; switches as `--name`),
// then checks the values together and reads the files they name (--tls-ca, --token-file).
// On a usage mistake returns InvalidArgument whose message names the flag and the value:
// an unknown argument, a missing or empty value, a value out of its range, a required flag
// absent, a file that cannot be read. Call once per process: the flags are process-wide.
absl::StatusOr<BoardCommandLine> ParseBoardCommandLine(int argc, char** argv);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_BOARD_FLAGS_H_
