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

TEST(FrameReaderTest, KeepsTheLastCandidateProgress) {
  FrameReader reader(64);
  EXPECT_EQ(reader.candidate_progress().candidate, -1);
  ASSERT_TRUE(reader.Append(EncodeFrame(FrameType::kReferenceReady, "") +
                            EncodeCandidateProgressFrame({0, -1}) +
                            EncodeCandidateProgressFrame({2, 3})))
      << reader.error();
  EXPECT_EQ(reader.candidate_progress().candidate, 2);
  EXPECT_EQ(reader.candidate_progress().round, 3);
  EXPECT_FALSE(reader.has_result());
  // A progress frame of another size is garbled.
  FrameReader garbled(64);
  EXPECT_FALSE(garbled.Append(EncodeFrame(FrameType::kCandidateProgress, "12345")));
  EXPECT_THAT(garbled.error(), HasSubstr("a candidate progress frame of 5 bytes"));
}

TEST(CandidateProgressTest, NamesTheCandidateAndThePass) {
  v1::MeasureTask task = testing::FixtureTask("unused");
  task.add_candidates();
  task.add_candidates();
  task.add_candidates();
  EXPECT_EQ(DescribeCandidateProgress({}, task),
            "during the multi-candidate task, before its first candidate");
  EXPECT_EQ(DescribeCandidateProgress({1, -1}, task),
            "during the multi-candidate task, in candidates[1] (of 3) while it was loaded, run "
            "and checked");
  EXPECT_EQ(DescribeCandidateProgress({2, 0}, task),
            "during the multi-candidate task, in candidates[2] (of 3) while timing it in its "
            "warm-up");
  EXPECT_EQ(DescribeCandidateProgress({0, 4}, task),
            "during the multi-candidate task, in candidates[0] (of 3) while timing it in round 4 "
            "of 5");  // rounds 0: five
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
