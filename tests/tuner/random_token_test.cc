// Random access tokens, and the embedded fleet that will not run without them.
#include "tuner/random_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tuner/embedded_fleet.h"

namespace fleettune::tuner {
namespace {

using ::testing::HasSubstr;

// Generators that fail the way RAND_bytes can: 0 (no entropy), -1 (not supported); the
// first zeroes the buffer, as a failed read of /dev/urandom into a zeroed buffer did.
int ZeroesAndFails(unsigned char* buffer, int length) {
  std::memset(buffer, 0, static_cast<size_t>(length));
  return 0;
}
int Unsupported(unsigned char* /*buffer*/, int /*length*/) { return -1; }

TEST(RandomTokenTest, IsSixtyFourHexDigitsAndFreshEachTime) {
  absl::StatusOr<std::string> first = RandomToken();
  absl::StatusOr<std::string> second = RandomToken();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->size(), 2u * kRandomTokenBytes);
  EXPECT_EQ(first->find_first_not_of("0123456789abcdef"), std::string::npos) << *first;
  EXPECT_NE(*first, std::string(first->size(), '0'));
  EXPECT_NE(*first, *second);
}

TEST(RandomTokenTest, FailedGeneratorIsAnErrorNeverAToken) {
  for (RandomBytesFunction failing : {&ZeroesAndFails, &Unsupported}) {
    absl::StatusOr<std::string> token = RandomToken(failing);
    ASSERT_FALSE(token.ok()) << "got token " << *token;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(token.status().message(), HasSubstr("the random generator failed"));
  }
}

// The failure reaches `fleettune tune` as a Status (it reports it and exits 1) before a
// tracker or a board is started.
TEST(RandomTokenTest, EmbeddedFleetDoesNotStartWithoutItsTokens) {
  absl::StatusOr<std::unique_ptr<EmbeddedFleet>> fleet =
      EmbeddedFleet::Start("random-token-test", 1, absl::Seconds(10), &ZeroesAndFails);
  ASSERT_FALSE(fleet.ok()) << "the fleet started at " << (*fleet)->address();
  EXPECT_EQ(fleet.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(fleet.status().message(),
              HasSubstr("cannot make the embedded tracker's access tokens: the random "
                        "generator failed"));
}

}  // namespace
}  // namespace fleettune::tuner
