// Property tests of the matmul family (matmul with and without the fused bias/ReLU epilogue,
// batch_matmul): over odd and prime shapes, the template default and random configs compute
// what a naive C++ loop nest computes, and so does the reference kernel.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc_server/kernel_library.h"
#include "tests/codegen/kernel_runner.h"

namespace fleettune::codegen {
namespace {

constexpr double kTolerance = 1e-4;

struct Problem {
  int64_t batch = 0;  // 0: matmul, else batch_matmul
  int64_t m, n, k;
  bool bias = false, relu = false;

  std::string Text() const {
    std::string text = batch > 0 ? "batch_matmul:b=" + std::to_string(batch) + "," : "matmul:";
    text += "m=" + std::to_string(m) + ",n=" + std::to_string(n) + ",k=" + std::to_string(k);
    if (bias) text += ",bias=1";
    if (relu) text += ",relu=1";
    return text;
  }
};

// The expected output for the inputs in ABI order.
std::vector<float> Naive(const Problem& p, const std::vector<std::vector<float>>& inputs) {
  int64_t batches = std::max<int64_t>(p.batch, 1);
  std::vector<float> c(batches * p.m * p.n);
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<float> a(inputs[0].begin() + b * p.m * p.k,
                         inputs[0].begin() + (b + 1) * p.m * p.k);
    std::vector<float> bm(inputs[1].begin() + b * p.k * p.n,
                          inputs[1].begin() + (b + 1) * p.k * p.n);
    std::vector<float> product;
    testing::NaiveMatmul(a, bm, &product, p.m, p.n, p.k);
    for (int64_t i = 0; i < p.m * p.n; ++i) {
      float value = product[i];
      if (p.bias) value += inputs[2][i % p.n];
      if (p.relu) value = std::max(value, 0.0f);
      c[b * p.m * p.n + i] = value;
    }
  }
  return c;
}

// Runs `kernel` on random inputs (the output starts as NaN); the error against Naive(), or a
// negative value with `error` set.
double RunAndCompare(const BuiltKernel& kernel, const Problem& p, std::string* error) {
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> loaded =
      rpc_server::KernelLibrary::Load(kernel.shared_object, kernel.symbol);
  if (!loaded.ok()) {
    *error = std::string(loaded.status().message());
    return -1;
  }
  std::vector<v1::TensorSpec> tensors = WorkloadTensors(*ParseWorkload(p.Text()));
  std::vector<std::vector<float>> buffers = testing::KernelBuffers(tensors, 11);
  std::vector<void*> args;
  for (auto& buffer : buffers) args.push_back(buffer.data());
  if ((*loaded)->function()(args.data()) != 0) {
    *error = "kernel returned non-zero";
    return -1;
  }
  std::vector<std::vector<float>> inputs(buffers.begin(), buffers.end() - 1);
  return testing::MaxRelativeError(buffers.back(), Naive(p, inputs));
}

void ExpectCorrect(const absl::StatusOr<BuiltKernel>& kernel, const Problem& p) {
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  std::string error;
  double err = RunAndCompare(*kernel, p, &error);
  ASSERT_GE(err, 0) << error;
  EXPECT_LT(err, kTolerance);
}

// Random shapes with odd and prime sizes, the epilogue flags and batch drawn at random.
std::vector<Problem> RandomProblems(std::mt19937_64& random, int count, bool batched) {
  const int64_t sizes[] = {1, 2, 3, 5, 7, 13, 16, 17, 31, 33, 47, 64, 97};
  std::vector<Problem> problems;
  for (int i = 0; i < count; ++i) {
    Problem p;
    p.batch = batched ? 1 + random() % 4 : 0;
    p.m = sizes[random() % std::size(sizes)];
    p.n = sizes[random() % std::size(sizes)];
    p.k = sizes[random() % std::size(sizes)];
    p.bias = random() % 2;
    p.relu = random() % 2;
    problems.push_back(p);
  }
  return problems;
}

void CheckRandomConfigs(const std::vector<Problem>& problems, std::mt19937_64& random,
                        int configs_per_problem) {
  for (const std::string& target_text : testing::PropertyTestTargets()) {
    v1::Target target = *ParseTarget(target_text);
    for (const Problem& p : problems) {
      v1::Workload workload = *ParseWorkload(p.Text());
      SearchSpace space = *SearchSpaceFor(workload, target);
      std::vector<v1::Config> configs = {space.DefaultConfig()};
      for (int i = 0; i < configs_per_problem; ++i) {
        configs.push_back(space.ConfigAt(random() % space.size()));
      }
      for (const v1::Config& config : configs) {
        SCOPED_TRACE(p.Text() + " " + target_text + " " + ConfigToString(config));
        ExpectCorrect(BuildKernel(workload, target, config), p);
      }
    }
  }
}

TEST(MatmulPropertyTest, ReferenceKernelsMatchNaive) {
  v1::Target target = *ParseTarget("host");
  for (const Problem& p : {Problem{0, 7, 13, 5, true, true}, Problem{0, 1, 1, 1, false, true},
                           Problem{3, 5, 17, 2, true, false}, Problem{2, 9, 4, 31}}) {
    SCOPED_TRACE(p.Text());
    ExpectCorrect(BuildReference(*ParseWorkload(p.Text()), target), p);
  }
}

TEST(MatmulPropertyTest, RandomConfigsOfRandomMatmulsMatchNaive) {
  std::mt19937_64 random(31337);
  CheckRandomConfigs(RandomProblems(random, 8, /*batched=*/false), random, 4);
}

TEST(MatmulPropertyTest, RandomConfigsOfRandomBatchMatmulsMatchNaive) {
  std::mt19937_64 random(4242);
  CheckRandomConfigs(RandomProblems(random, 5, /*batched=*/true), random, 4);
}

// Shapes around the register tile: full tiles, one row/column over, k tiles that do not divide.
TEST(MatmulPropertyTest, TileEdgesMatchNaive) {
  v1::Target target = *ParseTarget("host -threads=1");
  SearchSpace space = *SearchSpaceFor(*ParseWorkload("matmul:m=64,n=64,k=64"), target);
  int64_t lanes = space.knobs()[1].choices.front();
  for (const Problem& p :
       {Problem{0, 12, 2 * lanes, 40, true, true}, Problem{0, 13, 2 * lanes + 1, 41, true, false},
        Problem{0, 11, 2 * lanes - 1, 17, false, true}}) {
    v1::Workload workload = *ParseWorkload(p.Text());
    SearchSpace problem_space = *SearchSpaceFor(workload, target);
    for (int64_t order : problem_space.knobs()[3].choices) {
      for (int64_t pack : {0, 1}) {
        v1::Config config = problem_space.DefaultConfig();
        config.mutable_knobs(2)->set_value(16);  // k tile that divides no k here
        config.mutable_knobs(3)->set_value(order);
        config.mutable_knobs(5)->set_value(pack);
        SCOPED_TRACE(p.Text() + " " + ConfigToString(config));
        ExpectCorrect(BuildKernel(workload, target, config), p);
      }
    }
  }
}

// Records of the plain tiled template ("matmul") still build, epilogue included.
TEST(MatmulPropertyTest, LegacyTemplateConfigsStillBuild) {
  v1::Target target = *ParseTarget("host -threads=2");
  std::mt19937_64 random(5);
  for (const Problem& p : {Problem{0, 31, 17, 29}, Problem{0, 20, 33, 7, true, true}}) {
    v1::Workload workload = *ParseWorkload(p.Text());
    SearchSpace legacy = *SearchSpaceFor(workload, target, "matmul");
    for (v1::Config config : {legacy.DefaultConfig(), legacy.ConfigAt(random() % legacy.size())}) {
      SCOPED_TRACE(p.Text() + " " + ConfigToString(config));
      ExpectCorrect(BuildKernel(workload, target, config), p);
    }
  }
  v1::Config unknown =
      SearchSpaceFor(*ParseWorkload("matmul:m=2,n=2,k=2"), target)->DefaultConfig();
  unknown.set_template_name("matmul_magic");
  EXPECT_THAT(
      std::string(
          BuildKernel(*ParseWorkload("matmul:m=2,n=2,k=2"), target, unknown).status().message()),
      ::testing::HasSubstr("no template 'matmul_magic'"));
}

}  // namespace
}  // namespace fleettune::codegen
