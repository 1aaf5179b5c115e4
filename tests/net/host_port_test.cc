// ParseHostPort: every address flag's parser. Cases from issue #18 (a port that wraps, no
// port, a port that is not a number, an empty value) and the host forms it accepts.
#include "net/host_port.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fleettune::net {
namespace {

struct GoodCase {
  std::string text;
  PortZero zero;
  std::string host;
  int port;
  std::string canonical;
};

TEST(ParseHostPortTest, AcceptsNamesIpv4AndBracketedIpv6) {
  const std::vector<GoodCase> cases = {
      {"127.0.0.1:9190", PortZero::kRefused, "127.0.0.1", 9190, "127.0.0.1:9190"},
      {"localhost:1", PortZero::kRefused, "localhost", 1, "localhost:1"},
      {"tracker-1.lab_net.example:65535", PortZero::kRefused, "tracker-1.lab_net.example", 65535,
       "tracker-1.lab_net.example:65535"},
      {"0.0.0.0:0", PortZero::kPicksFreePort, "0.0.0.0", 0, "0.0.0.0:0"},
      {"[::1]:9190", PortZero::kRefused, "::1", 9190, "[::1]:9190"},
      {"[::]:0", PortZero::kPicksFreePort, "::", 0, "[::]:0"},
  };
  for (const GoodCase& c : cases) {
    absl::StatusOr<HostPort> parsed = ParseHostPort("--listen", c.text, c.zero);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
    EXPECT_EQ(parsed->ToString(), c.canonical) << c.text;
  }
}

struct BadCase {
  std::string text;
  PortZero zero;
  std::string says;  // part of the message after the flag and the quoted value
};

TEST(ParseHostPortTest, RefusesWithTheFlagTheValueAndTheReason) {
  const std::vector<BadCase> cases = {
      {"127.0.0.1:99999", PortZero::kPicksFreePort, "the port 99999 is not in 0-65535"},
      {"127.0.0.1:65536", PortZero::kRefused, "the port 65536 is not in 1-65535"},
      {"127.0.0.1:123456789012345678901", PortZero::kRefused, "is not in 1-65535"},
      {"127.0.0.1", PortZero::kPicksFreePort, "no port"},
      {"127.0.0.1:abc", PortZero::kRefused, "the port 'abc' is not a number"},
      {"127.0.0.1:-1", PortZero::kRefused, "the port '-1' is not a number"},
      {"127.0.0.1:+80", PortZero::kRefused, "the port '+80' is not a number"},
      {"127.0.0.1:", PortZero::kRefused, "the port is empty"},
      {"127.0.0.1:0", PortZero::kRefused, "the port 0 is not in 1-65535"},
      {"", PortZero::kPicksFreePort, "an address is HOST:PORT"},
      {":9190", PortZero::kPicksFreePort, "no host"},
      {"::1:9190", PortZero::kRefused, "an IPv6 address goes in brackets"},
      {"[::1]", PortZero::kRefused, "no port"},
      {"[::1:9190", PortZero::kRefused, "no closing ']'"},
      {"[nonsense]:9190", PortZero::kRefused, "'nonsense' is not an IPv6 address"},
      {"[::1]x:9190", PortZero::kRefused, "only ':PORT' may follow"},
      {"300.1.2.3:80", PortZero::kRefused, "'300.1.2.3' is not an IPv4 address"},
      {"bad host:80", PortZero::kRefused, "host 'bad host' may hold only"},
      {"http://tracker:80", PortZero::kRefused, "without a scheme"},
  };
  for (const BadCase& c : cases) {
    absl::StatusOr<HostPort> parsed = ParseHostPort("--tracker", c.text, c.zero);
    ASSERT_FALSE(parsed.ok()) << c.text << " parsed as " << parsed->ToString();
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    const std::string message(parsed.status().message());
    EXPECT_EQ(message.rfind("--tracker '" + c.text + "': ", 0), 0u) << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << c.text << ": " << message;
  }
}

}  // namespace
}  // namespace fleettune::net
