#include "codegen/target.h"

#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::codegen {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(TargetTest, HostResolvesTripleCpuFeaturesAndThreads) {
  absl::StatusOr<v1::Target> target = ParseTarget("host");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_FALSE(target->triple().empty());
  EXPECT_FALSE(target->cpu().empty());
  EXPECT_EQ(target->threads(), sysconf(_SC_NPROCESSORS_ONLN));
#if defined(__x86_64__)
  EXPECT_THAT(target->triple(), StartsWith("x86_64"));
  // Every x86-64 CPU has SSE2; LLVM must report it among the enabled features.
  EXPECT_THAT(target->features(), HasSubstr("+sse2"));
#endif
  EXPECT_EQ(target->features().find("-"), std::string::npos);
  std::string key = TargetKey(*target);
  EXPECT_THAT(key, StartsWith("llvm -mtriple=" + target->triple() + " -mcpu=" + target->cpu()));
  // The canonical key parses back to the same target.
  absl::StatusOr<v1::Target> again = ParseTarget(key);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(TargetKey(*again), key);
}

TEST(TargetTest, OptionsAndCanonicalForm) {
  struct Case {
    std::string text, key;
  };
  const Case cases[] = {
      {"llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -mattr=+neon -threads=4",
       "llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -mattr=+neon -threads=4"},
      {"llvm -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 -mattr=+fma,+avx2 -threads=2",
       "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 -mattr=+avx2,+fma -threads=2"},
      {"  llvm   -threads=3 -mtriple=x86_64-pc-linux-gnu  ",
       "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=generic -mattr= -threads=3"},
      {"llvm -mtriple=x86_64-pc-linux-gnu -mattr=-avx512f,+avx2 -threads=1",
       "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=generic -mattr=+avx2,-avx512f -threads=1"},
      {"host -mtriple=aarch64-linux-gnu -threads=8",
       "llvm -mtriple=aarch64-linux-gnu -mcpu=generic -mattr= -threads=8"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Target> target = ParseTarget(c.text);
    ASSERT_TRUE(target.ok()) << c.text << ": " << target.status();
    EXPECT_EQ(TargetKey(*target), c.key);
    absl::StatusOr<v1::Target> again = ParseTarget(c.key);
    ASSERT_TRUE(again.ok()) << c.key << ": " << again.status();
    EXPECT_EQ(TargetKey(*again), c.key);
  }
  absl::StatusOr<v1::Target> one = ParseTarget("host -threads=1");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->threads(), 1);
}

// The short form names triple, CPU, threads and the feature count; never the features.
TEST(TargetTest, SummaryCountsFeaturesInsteadOfListingThem) {
  struct Case {
    std::string text, summary;
  };
  const Case cases[] = {
      {"llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -mattr=+neon -threads=4",
       "aarch64-linux-gnu cortex-a76, 4 threads, 1 feature"},
      {"llvm -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 -mattr=+fma,+avx2,-avx512f -threads=1",
       "x86_64-pc-linux-gnu znver3, 1 thread, 3 features"},
      {"llvm -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 -threads=2",
       "x86_64-pc-linux-gnu znver3, 2 threads, 0 features"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Target> target = ParseTarget(c.text);
    ASSERT_TRUE(target.ok()) << c.text << ": " << target.status();
    EXPECT_EQ(TargetSummary(*target), c.summary) << c.text;
  }
  absl::StatusOr<v1::Target> host = ParseTarget("host -threads=3");
  ASSERT_TRUE(host.ok());
  const std::string summary = TargetSummary(*host);
  EXPECT_THAT(summary, StartsWith(host->triple() + " " + host->cpu() + ", 3 threads, "));
  EXPECT_EQ(summary.find("-mattr"), std::string::npos) << summary;
  EXPECT_EQ(summary.find('+'), std::string::npos) << summary;
  EXPECT_LT(summary.size(), 100u) << summary;
}

TEST(TargetTest, RejectsBadTargetsNamingTheBadPart) {
  struct Case {
    std::string text, message;
  };
  const Case cases[] = {
      {"", "empty target string"},
      {"cuda", "target must start with 'host' or 'llvm', got 'cuda'"},
      {"llvm -foo=1", "unknown target option '-foo'"},
      {"host -mcpu", "target option '-mcpu' needs a value"},
      {"llvm -mtriple=", "target option '-mtriple' needs a value"},
      {"llvm -mtriple=nonsense-unknown-none", "no backend for triple 'nonsense-unknown-none'"},
      {"llvm -mtriple=x86_64-pc-linux-gnu -mcpu=pentium99", "-mcpu: 'pentium99'"},
      {"llvm -mtriple=x86_64-pc-linux-gnu -mattr=+notafeature", "-mattr: '+notafeature'"},
      {"llvm -mattr=avx2", "must be written +name or -name"},
      {"host -threads=0", "-threads must be an integer in [1, 1024], got '0'"},
      {"host -threads=many", "got 'many'"},
      {"host -threads=2 -threads=3", "'-threads' given twice"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Target> target = ParseTarget(c.text);
    ASSERT_FALSE(target.ok()) << c.text;
    EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(target.status().message()), HasSubstr(c.message)) << c.text;
  }
}

TEST(TargetTest, ValidateChecksMessages) {
  v1::Target target = *ParseTarget("host");
  EXPECT_TRUE(ValidateTarget(target).ok());
  v1::Target no_threads = target;
  no_threads.set_threads(0);
  EXPECT_THAT(std::string(ValidateTarget(no_threads).message()), HasSubstr("-threads"));
  v1::Target bad_triple = target;
  bad_triple.set_triple("");
  EXPECT_THAT(std::string(ValidateTarget(bad_triple).message()), HasSubstr("-mtriple"));
}

}  // namespace
}  // namespace fleettune::codegen
