#include "codegen/build.h"

#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc_server/kernel_library.h"
#include "tests/codegen/kernel_runner.h"

namespace fleettune::codegen {
namespace {

using ::testing::HasSubstr;

constexpr double kTolerance = 1e-4;

struct Shape {
  int64_t m, n, k;
};

v1::Workload MatmulWorkload(const Shape& s) {
  return *ParseWorkload("matmul:m=" + std::to_string(s.m) + ",n=" + std::to_string(s.n) +
                        ",k=" + std::to_string(s.k));
}

// Runs the kernel on random inputs (C starts as NaN) and returns its error against a naive
// double-accumulating matmul; a negative value with `error` set when it cannot run.
double RunAndCompare(const BuiltKernel& kernel, const Shape& s, std::string* error) {
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> loaded =
      rpc_server::KernelLibrary::Load(kernel.shared_object, kernel.symbol);
  if (!loaded.ok()) {
    *error = std::string(loaded.status().message());
    return -1;
  }
  std::vector<float> a = testing::RandomVector(s.m * s.k, 1);
  std::vector<float> b = testing::RandomVector(s.k * s.n, 2);
  std::vector<float> c(s.m * s.n, std::nanf(""));
  void* args[] = {a.data(), b.data(), c.data()};
  if ((*loaded)->function()(args) != 0) {
    *error = "kernel returned non-zero";
    return -1;
  }
  std::vector<float> expected;
  testing::NaiveMatmul(a, b, &expected, s.m, s.n, s.k);
  return testing::MaxRelativeError(c, expected);
}

// ELF header checks: a 64-bit shared object (e_type ET_DYN) for machine `machine`.
void ExpectSharedObject(const std::string& bytes, uint16_t machine) {
  ASSERT_GT(bytes.size(), 64u);
  EXPECT_EQ(bytes.substr(0, 4),
            "\x7f"
            "ELF");
  EXPECT_EQ(bytes[4], 2);  // ELFCLASS64
  uint16_t type, e_machine;
  std::memcpy(&type, bytes.data() + 16, 2);
  std::memcpy(&e_machine, bytes.data() + 18, 2);
  EXPECT_EQ(type, 3);  // ET_DYN
  EXPECT_EQ(e_machine, machine);
}

constexpr uint16_t kX86_64 = 62;
constexpr uint16_t kAArch64 = 183;

TEST(BuildTest, ReferenceIsCorrect) {
  v1::Target target = *ParseTarget("host");
  for (const Shape& s : {Shape{1, 1, 1}, Shape{7, 13, 5}, Shape{33, 17, 64}}) {
    absl::StatusOr<BuiltKernel> kernel = BuildReference(MatmulWorkload(s), target);
    ASSERT_TRUE(kernel.ok()) << kernel.status();
    std::string error;
    double err = RunAndCompare(*kernel, s, &error);
    ASSERT_GE(err, 0) << error;
    EXPECT_LT(err, kTolerance) << s.m << "x" << s.n << "x" << s.k;
  }
}

TEST(BuildTest, SharedObjectExportsTheSymbolAndHasAHeader) {
  v1::Workload workload = MatmulWorkload({8, 8, 8});
  v1::Target target = *ParseTarget("host -threads=2");
  SearchSpace space = *SearchSpaceFor(workload, target);
  BuildOptions options;
  options.symbol = "my_matmul_8";
  absl::StatusOr<BuiltKernel> kernel =
      BuildKernel(workload, target, space.DefaultConfig(), options);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->symbol, "my_matmul_8");
#if defined(__x86_64__)
  ExpectSharedObject(kernel->shared_object, kX86_64);
#endif
  // The default config runs in parallel on two threads: the object needs libgomp.
  EXPECT_NE(kernel->shared_object.find("libgomp.so.1"), std::string::npos);
  EXPECT_NE(kernel->shared_object.find("my_matmul_8"), std::string::npos);
  EXPECT_THAT(kernel->c_header, HasSubstr("int32_t my_matmul_8(void* const* args);"));
  EXPECT_THAT(kernel->c_header, HasSubstr("args[0] = A float[8][8] (input)"));
  EXPECT_THAT(kernel->c_header, HasSubstr("args[2] = C float[8][8] (output)"));
  EXPECT_GT(kernel->llvm_seconds, 0);
  EXPECT_GT(kernel->link_seconds, 0);
  EXPECT_TRUE(kernel->ir_dump.empty());
  std::string error;
  double err = RunAndCompare(*kernel, {8, 8, 8}, &error);
  ASSERT_GE(err, 0) << error;
  EXPECT_LT(err, kTolerance);
}

TEST(BuildTest, DumpIrShowsEveryPassAndTheLlvmModule) {
  v1::Workload workload = MatmulWorkload({20, 40, 12});
  v1::Target target = *ParseTarget("host -threads=1");
  SearchSpace space = *SearchSpaceFor(workload, target);
  BuildOptions options;
  options.dump_ir = true;
  absl::StatusOr<BuiltKernel> kernel =
      BuildKernel(workload, target, space.DefaultConfig(), options);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  for (const char* part :
       {"// schedule", "// simplify", "// partition_tails", "// unroll_loops",
        "vectorized for (j.inner.v", "; optimised LLVM IR", "define i32 @fleettune_kernel("}) {
    EXPECT_THAT(kernel->ir_dump, HasSubstr(part));
  }
}

TEST(BuildTest, RejectsConfigsOutsideTheSpaceAndBadSymbols) {
  v1::Workload workload = MatmulWorkload({16, 16, 16});
  v1::Target target = *ParseTarget("host -threads=1");
  v1::Config config = SearchSpaceFor(workload, target)->DefaultConfig();
  config.mutable_knobs(1)->set_value(5);
  absl::StatusOr<BuiltKernel> kernel = BuildKernel(workload, target, config);
  EXPECT_EQ(kernel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(kernel.status().message()), HasSubstr("tile_x"));

  BuildOptions bad_symbol;
  bad_symbol.symbol = "9lives; rm -rf";
  kernel = BuildReference(workload, target, bad_symbol);
  EXPECT_EQ(kernel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(kernel.status().message()), HasSubstr("not a C identifier"));

  v1::Workload bad = workload;
  bad.mutable_params(0)->set_value(0);
  EXPECT_EQ(BuildReference(bad, target).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BuildTest, CrossCompilesForAArch64) {
  v1::Workload workload = MatmulWorkload({31, 17, 29});
  v1::Target target =
      *ParseTarget("llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -mattr=+neon -threads=4");
  SearchSpace space = *SearchSpaceFor(workload, target);
  absl::StatusOr<BuiltKernel> kernel = BuildKernel(workload, target, space.DefaultConfig());
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  ExpectSharedObject(kernel->shared_object, kAArch64);
  // Parallel by default: DT_NEEDED libgomp.so.1 through the stand-in stub.
  EXPECT_NE(kernel->shared_object.find("libgomp.so.1"), std::string::npos);
}

// The property: every config of the space computes the same product as a naive matmul,
// whatever the tiles (divisors or not), order, vectorization, unrolling and threads.
TEST(BuildTest, RandomConfigsMatchNaiveMatmul) {
  v1::Target target = *ParseTarget("host -threads=2");
  const Shape shapes[] = {{1, 1, 1}, {7, 13, 5}, {31, 17, 29}, {64, 48, 33}, {97, 101, 89}};
  std::mt19937_64 random(2024);
  for (const Shape& s : shapes) {
    v1::Workload workload = MatmulWorkload(s);
    SearchSpace space = *SearchSpaceFor(workload, target);
    std::vector<v1::Config> configs = {space.DefaultConfig()};
    for (int i = 0; i < 22; ++i) configs.push_back(space.ConfigAt(random() % space.size()));
    for (const v1::Config& config : configs) {
      SCOPED_TRACE(WorkloadKey(workload) + " " + ConfigToString(config));
      absl::StatusOr<BuiltKernel> kernel = BuildKernel(workload, target, config);
      ASSERT_TRUE(kernel.ok()) << kernel.status();
      std::string error;
      double err = RunAndCompare(*kernel, s, &error);
      ASSERT_GE(err, 0) << error;
      EXPECT_LT(err, kTolerance);
    }
  }
}

// Builds run concurrently, each with its own LLVMContext; lld is serialised inside.
TEST(BuildTest, ConcurrentBuildsAreCorrect) {
  v1::Target target = *ParseTarget("host -threads=1");
  const Shape shape{29, 35, 19};
  v1::Workload workload = MatmulWorkload(shape);
  SearchSpace space = *SearchSpaceFor(workload, target);
  constexpr int kThreads = 4;
  std::vector<absl::StatusOr<BuiltKernel>> results(kThreads, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      results[t] = BuildKernel(workload, target, space.ConfigAt((space.size() / kThreads) * t + 3));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(results[t].ok()) << results[t].status();
    std::string error;
    double err = RunAndCompare(*results[t], shape, &error);
    ASSERT_GE(err, 0) << error;
    EXPECT_LT(err, kTolerance);
  }
}

}  // namespace
}  // namespace fleettune::codegen
