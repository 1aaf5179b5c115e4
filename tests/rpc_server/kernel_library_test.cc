#include "rpc_server/kernel_library.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "tests/rpc_server/kernel_fixture.h"

namespace fleettune::rpc_server {
namespace {

using ::fleettune::testing::FixtureKernelBytes;
using ::fleettune::testing::kFixtureK;
using ::fleettune::testing::kFixtureM;
using ::fleettune::testing::kFixtureN;

TEST(KernelLibraryTest, GarbageBytesAreInvalidArgumentWithLoaderMessage) {
  auto library = KernelLibrary::Load("this is not an ELF file at all", "kernel");
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(library.status().message().find("not a loadable shared object: "), std::string::npos)
      << library.status();
  // dlerror's text names the memory file it tried.
  EXPECT_NE(library.status().message().find("/proc/self/fd/"), std::string::npos)
      << library.status();
}

TEST(KernelLibraryTest, TruncatedElfIsInvalidArgument) {
  const std::string truncated = FixtureKernelBytes().substr(0, 200);
  auto library = KernelLibrary::Load(truncated, "matmul_reference");
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KernelLibraryTest, EmptyBytesAndEmptySymbolAreRejected) {
  EXPECT_EQ(KernelLibrary::Load("", "f").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KernelLibrary::Load(FixtureKernelBytes(), "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KernelLibraryTest, MissingSymbolNamesIt) {
  auto library = KernelLibrary::Load(FixtureKernelBytes(), "no_such_kernel");
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(library.status().message());
  EXPECT_EQ(message.rfind("shared object has no symbol \"no_such_kernel\": /proc/self/fd/", 0), 0u)
      << message;
  // The loader's own words, intact: dlerror's text is copied before dlclose overwrites it
  // (the worker once sent it back as invalid UTF-8, and its reply did not parse).
  EXPECT_TRUE(absl::EndsWith(message, "undefined symbol: no_such_kernel")) << message;
}

TEST(KernelLibraryTest, LoadedKernelComputesMatmul) {
  ASSERT_FALSE(FixtureKernelBytes().empty()) << "fixture not found: " FLEETTUNE_TEST_KERNELS_SO;
  auto library = KernelLibrary::Load(FixtureKernelBytes(), "matmul_reference");
  ASSERT_TRUE(library.ok()) << library.status();
  std::vector<float> a(kFixtureM * kFixtureK), b(kFixtureK * kFixtureN), c(kFixtureM * kFixtureN);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 7) - 3;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 5) - 2;
  void* args[] = {a.data(), b.data(), c.data()};
  ASSERT_EQ((*library)->function()(args), 0);
  for (int i = 0; i < kFixtureM; ++i) {
    for (int j = 0; j < kFixtureN; ++j) {
      float expected = 0;
      for (int k = 0; k < kFixtureK; ++k) expected += a[i * kFixtureK + k] * b[k * kFixtureN + j];
      EXPECT_EQ(c[i * kFixtureN + j], expected) << i << "," << j;
    }
  }
}

TEST(KernelLibraryTest, ManyLoadsAndTwoAtOnceStayDistinct) {
  auto failing = KernelLibrary::Load(FixtureKernelBytes(), "matmul_fails");
  ASSERT_TRUE(failing.ok()) << failing.status();
  for (int i = 0; i < 50; ++i) {
    auto library = KernelLibrary::Load(FixtureKernelBytes(), "matmul_fails");
    ASSERT_TRUE(library.ok()) << library.status();
    EXPECT_EQ((*library)->function()(nullptr), 3);
  }
  EXPECT_EQ((*failing)->function()(nullptr), 3);
}

TEST(KernelLibraryTest, LoadFileReadsFromDisk) {
  auto library = KernelLibrary::LoadFile(FLEETTUNE_TEST_KERNELS_SO, "matmul_fails");
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ((*library)->function()(nullptr), 3);
  auto missing = KernelLibrary::LoadFile("/nonexistent/kernel.so", "f");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/kernel.so"), std::string::npos);
}

}  // namespace
}  // namespace fleettune::rpc_server
