// The board runtime's OpenCL device on PoCL: kernels codegen emits for the `opencl` target
// (printed by opencl_emit_helper, a separate process: PoCL's LLVM 15 and codegen's LLVM 14
// cannot share one), built with clBuildProgram, run and checked against a naive loop, timed
// with events.
#include "rpc_server/opencl_device.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc_server/device.h"
#include "rpc_server/host_reference.h"
#include "rpc_server/measure.h"

namespace fleettune::rpc_server {
namespace {

using ::testing::HasSubstr;

struct Shape {
  int64_t m, n, k;
  bool bias = false, relu = false, residual = false, relu6 = false;
};

std::string WorkloadText(const Shape& s) {
  return absl::StrCat("matmul:m=", s.m, ",n=", s.n, ",k=", s.k, s.bias ? ",bias=1" : "",
                      s.relu ? ",relu=1" : "", s.residual ? ",residual=1" : "",
                      s.relu6 ? ",relu6=1" : "");
}

// The workload message of a matmul (what the tuner would send).
v1::Workload MatmulWorkload(const Shape& s) {
  v1::Workload workload;
  workload.set_op("matmul");
  workload.set_dtype("float32");
  for (auto [name, value] : {std::pair{"m", s.m},
                             {"n", s.n},
                             {"k", s.k},
                             {"bias", int64_t{s.bias}},
                             {"relu", int64_t{s.relu}}}) {
    auto* param = workload.add_params();
    param->set_name(name);
    param->set_value(value);
  }
  for (auto [name, value] : {std::pair{"residual", s.residual}, {"relu6", s.relu6}}) {
    if (!value) continue;
    auto* param = workload.add_params();
    param->set_name(name);
    param->set_value(1);
  }
  return workload;
}

std::vector<int64_t> TensorElements(const Shape& s) {
  std::vector<int64_t> sizes = {s.m * s.k, s.k * s.n};
  if (s.bias) sizes.push_back(s.n);
  if (s.residual) sizes.push_back(s.m * s.n);
  sizes.push_back(s.m * s.n);
  return sizes;
}

struct Emitted {
  std::string config;
  std::string source;
};

// codegen's sources for the default and count - 1 random configs of `s`.
std::vector<Emitted> EmitSources(const Shape& s, int count, uint64_t seed) {
  std::string command =
      absl::StrCat(OPENCL_EMIT_HELPER, " '", WorkloadText(s), "' ", count, " ", seed);
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char chunk[4096];
  while (pipe != nullptr) {
    size_t n = fread(chunk, 1, sizeof(chunk), pipe);
    if (n == 0) break;
    out.append(chunk, n);
  }
  int status = pipe ? pclose(pipe) : -1;
  EXPECT_EQ(status, 0) << command;
  std::vector<Emitted> emitted;
  for (absl::string_view part : absl::StrSplit(out, "=== CONFIG ", absl::SkipEmpty())) {
    size_t newline = part.find('\n');
    emitted.push_back(
        {std::string(part.substr(0, newline)), std::string(part.substr(newline + 1))});
  }
  return emitted;
}

class OpenClDeviceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // PoCL caches compiled kernels; keep them out of $HOME.
    std::string cache = (std::filesystem::temp_directory_path() /
                         ("fleettune-pocl-cache-" + std::to_string(getpid())))
                            .string();
    std::filesystem::create_directories(cache);
    setenv("POCL_CACHE_DIR", cache.c_str(), 0);
  }

  void SetUp() override {
    ASSERT_TRUE(HaveOpenCl()) << "built without OpenCL";
    absl::StatusOr<std::unique_ptr<OpenClDevice>> device = OpenClDevice::Open("any", 0);
    ASSERT_TRUE(device.ok()) << device.status();
    device_ = std::move(*device);
  }

  static v1::MeasureTask Task(const Shape& shape, const std::string& source) {
    v1::MeasureTask task;
    task.set_task_id(7);
    *task.mutable_workload() = MatmulWorkload(shape);
    task.mutable_artifact()->set_shared_object(source);
    task.mutable_artifact()->set_symbol("fleettune_kernel");
    std::vector<std::string> names = {"A", "B"};
    if (shape.bias) names.push_back("bias");
    if (shape.residual) names.push_back("residual");
    names.push_back("C");
    std::vector<std::vector<int64_t>> shapes = {{shape.m, shape.k}, {shape.k, shape.n}};
    if (shape.bias) shapes.push_back({shape.n});
    if (shape.residual) shapes.push_back({shape.m, shape.n});
    shapes.push_back({shape.m, shape.n});
    for (size_t i = 0; i < names.size(); ++i) {
      v1::TensorSpec* tensor = task.add_tensors();
      tensor->set_name(names[i]);
      for (int64_t d : shapes[i]) tensor->add_shape(d);
    }
    task.mutable_options()->set_number(1);
    task.mutable_options()->set_repeat(2);
    task.mutable_options()->set_timeout_ms(60000);
    return task;
  }

  std::unique_ptr<OpenClDevice> device_;
};

// Naive C = A * B (+ bias, + residual, ReLU or ReLU6) in double, independent of the runtime's
// own reference.
std::vector<float> Expected(const Shape& s, const std::vector<std::vector<float>>& in) {
  const int64_t m = s.m, n = s.n, k = s.k;
  std::vector<float> c(m * n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t r = 0; r < k; ++r) sum += double(in[0][i * k + r]) * in[1][r * n + j];
      if (s.bias) sum += in[2][j];
      if (s.residual) sum += in[s.bias ? 3 : 2][i * n + j];
      if ((s.relu || s.relu6) && sum < 0) sum = 0;
      if (s.relu6 && sum > 6) sum = 6;
      c[i * n + j] = static_cast<float>(sum);
    }
  }
  return c;
}

TEST_F(OpenClDeviceTest, DescribesItselfAsOpenCl) {
  v1::DeviceInfo info;
  device_->Describe(&info);
  EXPECT_EQ(info.device_kind(), "opencl");
  EXPECT_THAT(info.accelerator(), HasSubstr(device_->device_name()));
  EXPECT_FALSE(device_->platform_name().empty());
}

// Runs the default and count - 1 random configs of `s` on the device against Expected();
// returns how many matched.
int CheckConfigs(OpenClDevice& device, const Shape& s, int count, uint64_t seed) {
  int checked = 0;
  std::vector<Emitted> sources = EmitSources(s, count, seed);
  EXPECT_EQ(sources.size(), static_cast<size_t>(count)) << WorkloadText(s);
  const std::vector<int64_t> sizes = TensorElements(s);
  for (size_t trial = 0; trial < sources.size(); ++trial) {
    SCOPED_TRACE(WorkloadText(s) + " " + sources[trial].config);
    v1::Artifact artifact;
    artifact.set_shared_object(sources[trial].source);
    artifact.set_symbol("fleettune_kernel");
    absl::StatusOr<std::unique_ptr<LoadedKernel>> kernel = device.Load(artifact, sizes);
    EXPECT_TRUE(kernel.ok()) << kernel.status() << "\n" << sources[trial].source;
    if (!kernel.ok()) return checked;
    std::vector<std::vector<float>> buffers;
    std::vector<float*> args;
    for (size_t i = 0; i < sizes.size(); ++i) {
      buffers.emplace_back(sizes[i], std::nanf(""));
      if (i + 1 < sizes.size()) FillStandardInput(buffers[i].data(), sizes[i], i + trial);
    }
    for (auto& b : buffers) args.push_back(b.data());
    absl::Status ran =
        (*kernel)->Run(args, std::chrono::steady_clock::now() + std::chrono::seconds(60));
    EXPECT_TRUE(ran.ok()) << ran;
    if (!ran.ok()) return checked;
    std::vector<float> want = Expected(s, buffers);
    double scale = 1e-6;
    for (float v : want) scale = std::max(scale, double(std::fabs(v)));
    bool all_near = true;
    for (size_t e = 0; e < want.size() && all_near; ++e) {
      all_near = std::fabs(buffers.back()[e] - want[e]) <= 1e-4 * scale;
      EXPECT_NEAR(buffers.back()[e], want[e], 1e-4 * scale) << "element " << e;
    }
    checked += all_near;
  }
  return checked;
}

TEST_F(OpenClDeviceTest, RandomConfigsMatchANaiveMatmul) {
  const Shape shapes[] = {
      {64, 64, 64}, {37, 29, 53}, {1, 17, 5}, {33, 70, 19, true, true}, {128, 96, 80}};
  int checked = 0;
  uint64_t seed = 1234;
  for (const Shape& s : shapes) checked += CheckConfigs(*device_, s, 6, seed++);
  EXPECT_EQ(checked, 30);
}

// The fused epilogue's residual input and ReLU6 in the OpenCL kernel's write-back.
TEST_F(OpenClDeviceTest, ResidualAndRelu6MatchANaiveMatmul) {
  const Shape shapes[] = {{33, 70, 97, false, false, true, false},
                          {29, 37, 97, false, false, false, true},
                          {17, 45, 97, true, false, true, true},
                          {9, 31, 64, true, true, true, false}};
  int checked = 0;
  uint64_t seed = 99;
  for (const Shape& s : shapes) checked += CheckConfigs(*device_, s, 4, seed++);
  EXPECT_EQ(checked, 16);
}

TEST_F(OpenClDeviceTest, MeasuresATaskWithEventTimes) {
  const Shape shape{67, 45, 38};
  std::vector<Emitted> sources = EmitSources(shape, 1, 1);
  ASSERT_EQ(sources.size(), 1u);
  v1::MeasureTask task = Task(shape, sources[0].source);
  task.mutable_options()->set_repeat(3);
  task.mutable_options()->set_min_repeat_ms(5);
  v1::MeasureResult result = device_->Measure(task);
  ASSERT_EQ(result.status(), v1::OK) << result.error();
  EXPECT_EQ(result.task_id(), 7u);
  ASSERT_EQ(result.costs_size(), 3);
  for (double cost : result.costs()) {
    EXPECT_GT(cost, 0);
    EXPECT_LT(cost, 1.0);
  }
  EXPECT_LT(result.max_abs_error(), 1e-3);
}

TEST_F(OpenClDeviceTest, SyntaxErrorIsABuildErrorWithTheLog) {
  const Shape workload{8, 8, 8};
  std::string source =
      "// fleettune-opencl v1 kernel=fleettune_kernel global=8,8 local=0,0\n"
      "__kernel void fleettune_kernel(__global const float* A, __global const float* B,\n"
      "                               __global float* C) {\n"
      "  C[get_global_id(0)] = A[0] +* ;\n"
      "}\n";
  v1::MeasureResult result = device_->Measure(Task(workload, source));
  EXPECT_EQ(result.status(), v1::BUILD_ERROR);
  EXPECT_THAT(result.error(), HasSubstr("clBuildProgram"));
  EXPECT_THAT(result.error(), HasSubstr("error"));
}

TEST_F(OpenClDeviceTest, WrongResultsAreWrongAnswers) {
  const Shape workload{8, 8, 8};
  std::string source =
      "// fleettune-opencl v1 kernel=fleettune_kernel global=8,8 local=0,0\n"
      "__kernel void fleettune_kernel(__global const float* A, __global const float* B,\n"
      "                               __global float* C) {\n"
      "  size_t j = get_global_id(0), i = get_global_id(1);\n"
      "  float sum = 0.0f;\n"
      "  for (int k = 0; k < 7; ++k) sum += A[i * 8 + k] * B[k * 8 + j];\n"  // one term short
      "  C[i * 8 + j] = sum;\n"
      "}\n";
  v1::MeasureResult result = device_->Measure(Task(workload, source));
  EXPECT_EQ(result.status(), v1::WRONG_ANSWER) << result.error();
  EXPECT_GT(result.max_abs_error(), 1e-3);
  // The same kernel with the whole sum passes.
  std::string fixed = source;
  fixed.replace(fixed.find("k < 7"), 5, "k < 8");
  v1::MeasureResult ok = device_->Measure(Task(workload, fixed));
  EXPECT_EQ(ok.status(), v1::OK) << ok.error();
}

TEST_F(OpenClDeviceTest, OtherArtifactsAreLoadErrors) {
  const Shape workload{8, 8, 8};
  v1::MeasureResult elf = device_->Measure(Task(workload, std::string("\x7f"
                                                                      "ELF\x02\x01",
                                                                      6)));
  EXPECT_EQ(elf.status(), v1::LOAD_ERROR);
  EXPECT_THAT(elf.error(), HasSubstr("not an OpenCL artifact"));
  v1::MeasureTask wrong_symbol =
      Task(workload, "// fleettune-opencl v1 kernel=other global=8,8 local=0,0\n");
  v1::MeasureResult symbol = device_->Measure(wrong_symbol);
  EXPECT_EQ(symbol.status(), v1::LOAD_ERROR);
  EXPECT_THAT(symbol.error(), HasSubstr("other"));
}

// Not a check: prints GFLOPS of a few configs on this OpenCL device for docs and reports.
// Run with --gtest_also_run_disabled_tests --gtest_filter='*ReportGflops*';
// FLEETTUNE_OPENCL_CONFIGS overrides the configs (`knobs;knobs`), FLEETTUNE_OPENCL_SIZE the
// square size (default 512).
TEST_F(OpenClDeviceTest, DISABLED_ReportGflops) {
  const char* size_env = std::getenv("FLEETTUNE_OPENCL_SIZE");
  const int64_t size = size_env ? std::atoll(size_env) : 512;
  const Shape shape{size, size, size};
  const char* configs_env = std::getenv("FLEETTUNE_OPENCL_CONFIGS");
  std::string configs = configs_env ? configs_env
                                    : "tile_y=1,tile_x=1,workgroup=0,unroll_k=1;"
                                      "tile_y=4,tile_x=4,workgroup=0,unroll_k=4";
  std::string command =
      absl::StrCat(OPENCL_EMIT_HELPER, " '", WorkloadText(shape), "' '", configs, "' reference");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char chunk[4096];
  for (size_t n; (n = fread(chunk, 1, sizeof(chunk), pipe)) > 0;) out.append(chunk, n);
  ASSERT_EQ(pclose(pipe), 0) << command;
  for (absl::string_view part : absl::StrSplit(out, "=== CONFIG ", absl::SkipEmpty())) {
    size_t newline = part.find('\n');
    std::string config(part.substr(0, newline));
    v1::MeasureTask task = Task(shape, std::string(part.substr(newline + 1)));
    task.mutable_options()->set_repeat(3);
    task.mutable_options()->set_min_repeat_ms(config == "reference" ? 0 : 200);
    task.mutable_options()->set_timeout_ms(600000);
    v1::MeasureResult result = device_->Measure(task);
    ASSERT_EQ(result.status(), v1::OK) << config << ": " << result.error();
    double best = result.costs(0);
    for (double c : result.costs()) best = std::min(best, c);
    std::printf("%-48s %9.3f ms  %8.2f GFLOPS\n", config.c_str(), best * 1e3,
                2.0 * size * size * size / best / 1e9);
  }
}

TEST(OpenClLaunchHeaderTest, ParsesAndRejects) {
  absl::StatusOr<OpenClLaunchHeader> ok =
      ParseOpenClLaunchHeader("// fleettune-opencl v1 kernel=k global=64,32 local=16,8\nbody");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->kernel, "k");
  EXPECT_EQ(ok->global_size[0], 64);
  EXPECT_EQ(ok->global_size[1], 32);
  EXPECT_EQ(ok->local_size[0], 16);
  EXPECT_EQ(ok->local_size[1], 8);
  for (const char* bad : {"", "// fleettune-opencl v2 kernel=k global=1,1 local=0,0",
                          "// fleettune-opencl v1 kernel=k global=1 local=0,0",
                          "// fleettune-opencl v1 kernel=k global=0,1 local=0,0",
                          "// fleettune-opencl v1 kernel=k global=10,8 local=4,8",
                          "// fleettune-opencl v1 kernel=k global=8,8",
                          "// fleettune-opencl v1 kernel=k global=8,8 local=0,0 x=1"}) {
    EXPECT_EQ(ParseOpenClLaunchHeader(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(DeviceRegistryTest, NamesDevices) {
  DeviceOptions options;
  options.kind = "tpu";
  absl::StatusOr<std::shared_ptr<Device>> unknown = CreateDevice(options);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("tpu"));
  options.kind = "hexagon";
  absl::StatusOr<std::shared_ptr<Device>> hexagon = CreateDevice(options);
  ASSERT_TRUE(hexagon.ok()) << hexagon.status();
  v1::MeasureTask task;
  *task.mutable_workload() = MatmulWorkload({4, 4, 4});
  for (int t = 0; t < 3; ++t) task.add_tensors()->add_shape(16);
  v1::MeasureResult result = (*hexagon)->Measure(task);
  EXPECT_EQ(result.status(), v1::REJECTED);
  EXPECT_THAT(result.error(), HasSubstr("Hexagon"));
  options.kind = "cpu";
  absl::StatusOr<std::shared_ptr<Device>> cpu = CreateDevice(options);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ((*cpu)->Kind(), "cpu");
}

TEST(HostReferenceTest, MatchesAHandComputedProduct) {
  // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]; + bias [-20, 0], ReLU.
  std::vector<float> a = {1, 2, 3, 4}, b = {5, 6, 7, 8}, bias = {-20, 0};
  absl::StatusOr<std::vector<float>> c = HostReference(
      MatmulWorkload({2, 2, 2, true, true}), {a.data(), b.data(), bias.data()}, {4, 4, 2});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, (std::vector<float>{0, 22, 23, 50}));
  EXPECT_FALSE(HostReference(MatmulWorkload({2, 2, 2}), {a.data()}, {4}).ok());
}

}  // namespace
}  // namespace fleettune::rpc_server
