// TokensEqual: the tracker's constant-time comparison of a caller's token with its own.
#include "tracker/token_compare.h"

#include <gtest/gtest.h>

#include <string>

namespace fleettune::tracker {
namespace {

struct TokenCase {
  std::string presented;
  std::string expected;
  bool equal;
};

TEST(TokenCompareTest, EqualOnlyWhenEveryByteAndTheLengthMatch) {
  const std::string secret = "Bearer 0123456789abcdef0123456789abcdef";
  std::string first_byte_differs = secret;
  first_byte_differs[0] = 'b';
  std::string last_byte_differs = secret;
  last_byte_differs.back() = 'e';
  const std::string with_nul = std::string("Bearer a\0b", 10);
  const TokenCase cases[] = {
      {secret, secret, true},
      {first_byte_differs, secret, false},
      {last_byte_differs, secret, false},
      {secret.substr(0, secret.size() - 1), secret, false},  // a prefix
      {secret + "0", secret, false},                         // longer
      {"", secret, false},
      {"Bearer ", secret, false},
      {with_nul, with_nul, true},
      {with_nul, std::string("Bearer a\0c", 10), false},  // differs after a NUL byte
      {with_nul, "Bearer a", false},                      // not cut at a NUL byte
      {"", "", true},
  };
  for (const TokenCase& c : cases) {
    EXPECT_EQ(TokensEqual(c.presented, c.expected), c.equal)
        << "'" << c.presented << "' vs '" << c.expected << "'";
  }
}

}  // namespace
}  // namespace fleettune::tracker
