// The sandbox's reply frames: what the board accepts as a result and what is "garbled".
#include "rpc_server/sandbox_wire.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/rpc_server/kernel_fixture.h"

namespace fleettune::rpc_server {
namespace {

using ::testing::HasSubstr;

TEST(FrameReaderTest, ReadsFramesSplitAnywhere) {
  const std::string stream =
      EncodeFrame(FrameType::kReferenceReady, "") + EncodeFrame(FrameType::kResult, "the result");
  for (size_t split = 0; split <= stream.size(); ++split) {
    FrameReader reader(/*max_payload_bytes=*/64);
    ASSERT_TRUE(reader.Append(stream.substr(0, split))) << split;
    EXPECT_EQ(reader.has_result(), split == stream.size()) << split;
    ASSERT_TRUE(reader.Append(stream.substr(split))) << reader.error();
    EXPECT_TRUE(reader.reference_ready());
    ASSERT_TRUE(reader.has_result());
    EXPECT_EQ(reader.result(), "the result");
    EXPECT_EQ(reader.pending_bytes(), 0u);
  }
}

TEST(FrameReaderTest, AnythingButFramesIsGarbled) {
  const std::string result = EncodeFrame(FrameType::kResult, "ok");
  std::string unknown_type = result;
  unknown_type[4] = 9;
  struct Case {
    const char* name;
    std::string stream;
    const char* error;
  };
  const Case cases[] = {
      {"no magic", "garbage" + result, "bytes that are not a frame: \"garbage"},
      {"unknown type", unknown_type, "a frame of unknown type 9"},
      {"over the limit", EncodeFrame(FrameType::kResult, std::string(65, 'x')),
       "a frame of 65 bytes (the limit is 64)"},
      {"after the result", result + "x", "1 bytes after the result"},
  };
  for (const Case& c : cases) {
    FrameReader reader(/*max_payload_bytes=*/64);
    EXPECT_FALSE(reader.Append(c.stream)) << c.name;
    EXPECT_THAT(reader.error(), HasSubstr(c.error)) << c.name;
    EXPECT_FALSE(reader.Append(result)) << c.name << ": stays garbled";
  }
}

TEST(FrameReaderTest, ATruncatedFrameIsPending) {
  const std::string result = EncodeFrame(FrameType::kResult, "the result");
  FrameReader reader(64);
  EXPECT_TRUE(reader.Append(result.substr(0, result.size() - 1)));
  EXPECT_FALSE(reader.has_result());
  EXPECT_EQ(reader.pending_bytes(), result.size() - 1);
}

TEST(WorkerRequestTest, RoundTrips) {
  WorkerRequest request;
  request.task = testing::FixtureTask("matmul_reordered", 5);
  request.reference_key = "key";
  request.reference_output = std::string(8, '\x01');
  request.memory_limit_bytes = uint64_t{3} << 30;
  WorkerRequest decoded;
  ASSERT_TRUE(DecodeRequest(EncodeRequest(request), &decoded));
  EXPECT_EQ(decoded.task.client_tag(), 5u);
  EXPECT_EQ(decoded.task.artifact().symbol(), "matmul_reordered");
  EXPECT_EQ(decoded.reference_key, "key");
  EXPECT_EQ(decoded.reference_output, request.reference_output);
  EXPECT_EQ(decoded.memory_limit_bytes, uint64_t{3} << 30);
  const std::string bytes = EncodeRequest(request);
  EXPECT_FALSE(DecodeRequest(bytes.substr(0, bytes.size() - 1), &decoded));
}

}  // namespace
}  // namespace fleettune::rpc_server
