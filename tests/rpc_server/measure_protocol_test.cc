// One measurement protocol for every device (MeasureOnDevice, device.h): the CPU in process,
// the CPU's sandbox worker and any other device take the same checks, the same rule for the
// expected output and the same reference cache.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc_server/cpu_device.h"
#include "rpc_server/device.h"
#include "rpc_server/host_reference.h"
#include "rpc_server/measure.h"
#include "rpc_server/sandbox.h"
#include "tests/rpc_server/kernel_fixture.h"

namespace fleettune::rpc_server {
namespace {

using ::fleettune::testing::FixtureTask;
using ::fleettune::testing::WithoutHostReference;
using ::testing::HasSubstr;

// A device other than the CPU: it runs the fixture kernels (loaded as CpuDevice loads them)
// on the host memory every device gets by default, and counts its loads.
class PlainMemoryDevice : public Device {
 public:
  std::string Kind() const override { return "plain-test"; }
  void Describe(v1::DeviceInfo* info) const override { info->set_device_kind("plain-test"); }
  absl::StatusOr<std::unique_ptr<LoadedKernel>> Load(
      const v1::Artifact& artifact, const std::vector<int64_t>& tensor_elements) override {
    ++loads;
    return cpu_.Load(artifact, tensor_elements);
  }
  int loads = 0;

 private:
  CpuDevice cpu_{/*sandbox=*/false, SandboxOptions{}};
};

SandboxOptions WorkerOptions() {
  SandboxOptions options;
  options.worker_binary = FLEETTUNE_RPC_SERVER_BINARY;
  return options;
}

// The matmul host loop's output on the standard inputs of `task`.
std::vector<float> HostLoopOutput(const v1::MeasureTask& task) {
  std::vector<int64_t> sizes = *TaskTensorSizes(task);
  std::vector<std::vector<float>> inputs(sizes.size() - 1);
  std::vector<const float*> pointers;
  for (size_t i = 0; i < inputs.size(); ++i) {
    inputs[i].resize(static_cast<size_t>(sizes[i]));
    FillStandardInput(inputs[i].data(), sizes[i], i);
    pointers.push_back(inputs[i].data());
  }
  sizes.pop_back();
  return *HostReference(task.workload(), pointers, sizes);
}

// The CPU in process and in its sandbox worker.
class CpuPathTest : public ::testing::TestWithParam<bool> {
 protected:
  v1::MeasureResult Measure(const v1::MeasureTask& task) {
    CpuDevice device(/*sandbox=*/GetParam(), WorkerOptions());
    return device.Measure(task);
  }
};

INSTANTIATE_TEST_SUITE_P(InProcessAndSandbox, CpuPathTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Sandbox" : "InProcess"; });

// The host loop knows matmul, so the CPU checks it as every device does, with no reference
// artifact and no check_correctness flag.
TEST_P(CpuPathTest, WrongKernelForAHostLoopOpIsWrongAnswerWithoutAReferenceArtifact) {
  v1::MeasureTask task = FixtureTask("matmul_wrong");
  task.clear_reference();
  task.mutable_options()->set_check_correctness(false);
  v1::MeasureResult wrong = Measure(task);
  EXPECT_EQ(v1::MeasureStatus_Name(wrong.status()), "WRONG_ANSWER") << wrong.error();
  EXPECT_NEAR(wrong.max_abs_error(), 0.5, 1e-3);  // the fixture adds 0.5 to one element
  EXPECT_EQ(wrong.costs_size(), 0);

  task.mutable_artifact()->set_symbol("matmul_reordered");
  v1::MeasureResult correct = Measure(task);
  EXPECT_EQ(v1::MeasureStatus_Name(correct.status()), "OK") << correct.error();
  EXPECT_LT(correct.max_abs_error(), 1e-4);
}

// One key: an output a sandbox worker computed is what the in-process path checks against.
TEST(OneReferenceCacheTest, ReferenceComputedByASandboxWorkerIsAHitInProcess) {
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_reordered"));
  task.mutable_reference()->set_sha256("one-cache-from-the-worker");
  v1::MeasureResult first = MeasureInSandbox(task, WorkerOptions());
  ASSERT_EQ(v1::MeasureStatus_Name(first.status()), "OK") << first.error();

  // Later tasks of the same reference whose reference bytes do not load: only the output the
  // worker computed can check them.
  CpuDevice in_process(/*sandbox=*/false, SandboxOptions{});
  v1::MeasureTask later = task;
  later.mutable_reference()->set_shared_object("not a shared object");
  v1::MeasureResult correct = MeasureOnDevice(in_process, later);
  EXPECT_EQ(v1::MeasureStatus_Name(correct.status()), "OK") << correct.error();
  later.mutable_artifact()->set_symbol("matmul_wrong");
  v1::MeasureResult wrong = MeasureOnDevice(in_process, later);
  EXPECT_EQ(v1::MeasureStatus_Name(wrong.status()), "WRONG_ANSWER") << wrong.error();
  EXPECT_NEAR(wrong.max_abs_error(), 0.5, 1e-3);
}

// The worker computes the host loop's output too, and the board keeps it under the one key.
TEST(OneReferenceCacheTest, HostLoopOutputOfASandboxWorkerIsKeptUnderTheOneKey) {
  v1::MeasureTask task = FixtureTask("matmul_reordered");
  task.clear_reference();
  task.mutable_options()->set_check_correctness(false);
  // relu=0 changes nothing but the key: no other test has this output cached.
  v1::Workload::Param* relu = task.mutable_workload()->add_params();
  relu->set_name("relu");
  relu->set_value(0);
  const std::string key = ReferenceCacheKey(task);
  ASSERT_EQ(FindReferenceOutput(key), nullptr);
  v1::MeasureResult result = MeasureInSandbox(task, WorkerOptions());
  ASSERT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  auto kept = FindReferenceOutput(key);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(*kept, HostLoopOutput(task));
}

// A device with plain host memory gets the CPU's checks of the tensors after a run.
TEST(OtherDeviceTest, WriteOutsideTheOutputIsRuntimeErrorNamingTheTensor) {
  PlainMemoryDevice device;
  v1::MeasureResult result = MeasureOnDevice(device, FixtureTask("matmul_overruns"));
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "RUNTIME_ERROR") << result.error();
  EXPECT_THAT(result.error(), HasSubstr("kernel wrote outside tensor 2 (C)"));
  EXPECT_EQ(result.costs_size(), 0);
}

TEST(OtherDeviceTest, WriteIntoAnInputIsRuntimeErrorNamingIt) {
  PlainMemoryDevice device;
  v1::MeasureResult result = MeasureOnDevice(device, FixtureTask("matmul_writes_input"));
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "RUNTIME_ERROR") << result.error();
  EXPECT_THAT(result.error(), HasSubstr("kernel wrote into input tensor 0 (A)"));
  EXPECT_EQ(result.costs_size(), 0);
}

// The reference artifact a device runs is not the candidate's time, as on the CPU.
TEST(OtherDeviceTest, TimeoutCountsFromTheReferenceOutputBeingReady) {
  setenv("FLEETTUNE_TEST_SLOW_MS", "500", 1);
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_takes_20ms"));
  task.mutable_reference()->set_symbol("matmul_slow_reference");
  task.mutable_reference()->set_sha256("slow-reference-other-device");
  task.mutable_options()->set_timeout_ms(300);  // the reference alone takes 500 ms
  PlainMemoryDevice device;
  v1::MeasureResult result = MeasureOnDevice(device, task);
  unsetenv("FLEETTUNE_TEST_SLOW_MS");
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_EQ(result.costs_size(), 2);
  EXPECT_EQ(device.loads, 2);  // the reference, then the candidate
}

// on_reference_ready comes once, after the reference and before the candidate loads.
TEST(OtherDeviceTest, ReferenceReadyComesBetweenTheReferenceAndTheCandidate) {
  PlainMemoryDevice device;
  v1::MeasureTask task = WithoutHostReference(FixtureTask("matmul_reordered"));
  task.mutable_reference()->set_sha256("reference-ready-other-device");
  std::vector<int> loads_when_ready;
  v1::MeasureResult result =
      MeasureOnDevice(device, task, [&] { loads_when_ready.push_back(device.loads); });
  EXPECT_EQ(v1::MeasureStatus_Name(result.status()), "OK") << result.error();
  EXPECT_EQ(loads_when_ready, std::vector<int>{1});
  EXPECT_EQ(device.loads, 2);
}

}  // namespace
}  // namespace fleettune::rpc_server
