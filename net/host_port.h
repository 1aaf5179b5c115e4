// Network addresses as users write them: HOST:PORT, where HOST is a name, an IPv4 address or
// an IPv6 address in brackets, and PORT a decimal number. Every flag that takes an address
// (the tracker's --listen and --metrics-listen, the tuner's and the board's --tracker) parses
// it here, so an address means the same and fails with the same message everywhere.
//
// This is its own small library (Abseil and libc only) because both the host tools and the
// board runtime `fleettune-rpc-server` use it, and the runtime may depend on nothing beyond
// gRPC, protobuf and Abseil (it is cross-built for boards).
#ifndef FLEETTUNE_NET_HOST_PORT_H_
#define FLEETTUNE_NET_HOST_PORT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fleettune::net {

// Whether port 0 is a valid port: for an address to listen on it asks the system for a free
// port; for an address to connect to it is a mistake.
enum class PortZero { kRefused, kPicksFreePort };

// A checked address.
struct HostPort {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without its brackets
  int port = 0;      // 1-65535, or 0 where PortZero::kPicksFreePort allowed it

  // `host:port`, with brackets around an IPv6 host: the form gRPC and users read.
  std::string ToString() const;
};

// Parses `text`, the value of the command-line flag `flag` (e.g. "--listen"), as HOST:PORT.
// HOST: a name of letters, digits, '-', '_' and '.'; an IPv4 address; or `[IPv6]`. PORT:
// decimal digits in 1-65535 (0-65535 with kPicksFreePort). Nothing may precede or follow
// them. On failure returns InvalidArgument whose message names `flag`, quotes `text` and
// says what is wrong (no port, a port that is not a number or out of range, an empty or
// malformed host, an IPv6 address without brackets). Thread-safe.
absl::StatusOr<HostPort> ParseHostPort(std::string_view flag, std::string_view text, PortZero zero);

}  // namespace fleettune::net

#endif  // FLEETTUNE_NET_HOST_PORT_H_
