// Test helpers: the bytes of the fixture kernel library (test_kernels.c, built by CMake and
// named by FLEETTUNE_TEST_KERNELS_SO) and measure tasks for its 16x24x8 matmul.
#ifndef FLEETTUNE_TESTS_RPC_SERVER_KERNEL_FIXTURE_H_
#define FLEETTUNE_TESTS_RPC_SERVER_KERNEL_FIXTURE_H_

#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::testing {

inline constexpr int kFixtureM = 16;
inline constexpr int kFixtureK = 24;
inline constexpr int kFixtureN = 8;

inline const std::string& FixtureKernelBytes() {
  static const std::string* bytes = [] {
    std::ifstream file(FLEETTUNE_TEST_KERNELS_SO, std::ios::binary);
    std::ostringstream out;
    out << file.rdbuf();
    return new std::string(out.str());
  }();
  return *bytes;
}

// A task measuring fixture symbol `candidate` on the 16x24x8 matmul. Boards check matmul
// against their host loop (rpc_server/host_reference.h); the task also carries
// `matmul_reference` as its reference artifact, which WithoutHostReference makes the check.
inline v1::MeasureTask FixtureTask(const std::string& candidate, uint64_t client_tag = 0) {
  v1::MeasureTask task;
  task.set_client_tag(client_tag);
  task.set_workload_key("matmul:m=16,n=8,k=24");
  task.mutable_workload()->set_op("matmul");
  task.mutable_workload()->set_dtype("float32");
  for (auto [name, value] :
       {std::pair<const char*, int64_t>{"m", kFixtureM}, {"n", kFixtureN}, {"k", kFixtureK}}) {
    v1::Workload::Param* param = task.mutable_workload()->add_params();
    param->set_name(name);
    param->set_value(value);
  }
  task.mutable_artifact()->set_shared_object(FixtureKernelBytes());
  task.mutable_artifact()->set_symbol(candidate);
  task.mutable_reference()->set_shared_object(FixtureKernelBytes());
  task.mutable_reference()->set_symbol("matmul_reference");
  task.mutable_reference()->set_sha256("fixture-reference");
  auto add_tensor = [&](const char* name, int64_t rows, int64_t cols) {
    v1::TensorSpec* tensor = task.add_tensors();
    tensor->set_name(name);
    tensor->add_shape(rows);
    tensor->add_shape(cols);
  };
  add_tensor("A", kFixtureM, kFixtureK);
  add_tensor("B", kFixtureK, kFixtureN);
  add_tensor("C", kFixtureM, kFixtureN);
  task.mutable_options()->set_check_correctness(true);
  task.mutable_options()->set_repeat(2);
  return task;
}

// `task` with a workload the host loop does not know, so that boards check it against (and
// time out, crash or fail on) its reference artifact.
inline v1::MeasureTask WithoutHostReference(v1::MeasureTask task) {
  task.set_workload_key("fixture_matmul:m=16,n=8,k=24");
  task.mutable_workload()->set_op("fixture_matmul");
  task.mutable_workload()->clear_params();
  return task;
}

}  // namespace fleettune::testing

#endif  // FLEETTUNE_TESTS_RPC_SERVER_KERNEL_FIXTURE_H_
