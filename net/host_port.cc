#include "net/host_port.h"

#include <arpa/inet.h>

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fleettune::net {
namespace {

constexpr char kExample[] = "e.g. 127.0.0.1:9190";

// True when every character of `text` is one of `allowed` or a letter or digit.
bool OnlyAlphanumericOr(absl::string_view text, absl::string_view allowed) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        allowed.find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

// Checks a host written without brackets: an IPv4 address, or a name.
absl::Status CheckHost(absl::string_view host) {
  if (OnlyAlphanumericOr(host, ".") && host.find_first_not_of("0123456789.") == host.npos) {
    // Digits and dots only: it must be an IPv4 address, not a name.
    in_addr ipv4;
    if (inet_pton(AF_INET, std::string(host).c_str(), &ipv4) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("'", host, "' is not an IPv4 address"));
    }
    return absl::OkStatus();
  }
  if (!OnlyAlphanumericOr(host, "-_.")) {
    return absl::InvalidArgumentError(
        absl::StrCat("host '", host,
                     "' may hold only letters, digits, '-', '_' and '.' (an IPv6 address "
                     "goes in brackets, e.g. [::1]:9190)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view flag_name, std::string_view value,
                                       PortZero zero) {
  const absl::string_view flag(flag_name.data(), flag_name.size());
  const absl::string_view text(value.data(), value.size());
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " '", text, "': ", why));
  };
  if (text.empty()) return bad(absl::StrCat("an address is HOST:PORT, ", kExample));
  if (text.find("://") != text.npos) {
    return bad(absl::StrCat("give HOST:PORT without a scheme, ", kExample));
  }
  HostPort address;
  absl::string_view port_text;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == text.npos) return bad("the IPv6 address has no closing ']'");
    address.host = std::string(text.substr(1, close - 1));
    in6_addr ipv6;
    if (inet_pton(AF_INET6, address.host.c_str(), &ipv6) != 1) {
      return bad(absl::StrCat("'", address.host, "' is not an IPv6 address"));
    }
    absl::string_view rest = text.substr(close + 1);
    if (rest.empty()) return bad("no port: give [IPv6]:PORT, e.g. [::1]:9190");
    if (rest.front() != ':') return bad("only ':PORT' may follow the ']'");
    port_text = rest.substr(1);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == text.npos) return bad(absl::StrCat("no port: give HOST:PORT, ", kExample));
    address.host = std::string(text.substr(0, colon));
    if (address.host.find(':') != std::string::npos) {
      return bad("an IPv6 address goes in brackets, e.g. [::1]:9190");
    }
    if (address.host.empty()) {
      return bad(absl::StrCat("no host: give HOST:PORT, ", kExample,
                              " (0.0.0.0 listens on every interface)"));
    }
    if (absl::Status host = CheckHost(address.host); !host.ok()) return bad(host.message());
    port_text = text.substr(colon + 1);
  }
  const int lowest = zero == PortZero::kPicksFreePort ? 0 : 1;
  const std::string range =
      zero == PortZero::kPicksFreePort ? "0-65535 (0 picks a free port)" : "1-65535";
  if (port_text.empty()) return bad(absl::StrCat("the port is empty; it must be in ", range));
  if (port_text.find_first_not_of("0123456789") != port_text.npos) {
    return bad(absl::StrCat("the port '", port_text, "' is not a number in ", range));
  }
  int64_t port = 0;
  if (port_text.size() > 5 || !absl::SimpleAtoi(port_text, &port) || port < lowest ||
      port > 65535) {
    return bad(absl::StrCat("the port ", port_text, " is not in ", range));
  }
  address.port = static_cast<int>(port);
  return address;
}

}  // namespace fleettune::net
