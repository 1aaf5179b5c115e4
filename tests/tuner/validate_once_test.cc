// A tuning job checks and keys its workload and target once, where they enter
// (CheckedWorkload::Parse, CheckedTarget::Parse), and never again per trial: not to build, not
// to featurise a candidate, not to record a result.
//
// No hook in the production code: this binary is linked with `-Wl,--wrap` for
// ValidateWorkload, ValidateTarget, WorkloadKey and TargetKey (tests/tuner/CMakeLists.txt),
// so every call to them from another translation unit (the tuner, the cost model, codegen's
// search space, loop nest and builder) goes through a counter here. Calls inside
// codegen/workload.cc and codegen/target.cc themselves are not counted.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "db/database.h"
#include "gtest/gtest.h"
#include "tuner/embedded_fleet.h"
#include "tuner/tuning_job.h"

namespace fleettune::codegen {

std::atomic<int> validate_workload_calls{0};
std::atomic<int> validate_target_calls{0};
std::atomic<int> workload_key_calls{0};
std::atomic<int> target_key_calls{0};

#define FLEETTUNE_VALIDATE_WORKLOAD "_ZN9fleettune7codegen16ValidateWorkloadERKNS_2v18WorkloadE"
#define FLEETTUNE_VALIDATE_TARGET "_ZN9fleettune7codegen14ValidateTargetERKNS_2v16TargetE"
#define FLEETTUNE_WORKLOAD_KEY "_ZN9fleettune7codegen11WorkloadKeyB5cxx11ERKNS_2v18WorkloadE"
#define FLEETTUNE_TARGET_KEY "_ZN9fleettune7codegen9TargetKeyB5cxx11ERKNS_2v16TargetE"

absl::Status RealValidateWorkload(const v1::Workload&) asm("__real_" FLEETTUNE_VALIDATE_WORKLOAD);
absl::Status RealValidateTarget(const v1::Target&) asm("__real_" FLEETTUNE_VALIDATE_TARGET);
std::string RealWorkloadKey(const v1::Workload&) asm("__real_" FLEETTUNE_WORKLOAD_KEY);
std::string RealTargetKey(const v1::Target&) asm("__real_" FLEETTUNE_TARGET_KEY);

absl::Status CountedValidateWorkload(const v1::Workload&) asm(
    "__wrap_" FLEETTUNE_VALIDATE_WORKLOAD);
absl::Status CountedValidateTarget(const v1::Target&) asm("__wrap_" FLEETTUNE_VALIDATE_TARGET);
std::string CountedWorkloadKey(const v1::Workload&) asm("__wrap_" FLEETTUNE_WORKLOAD_KEY);
std::string CountedTargetKey(const v1::Target&) asm("__wrap_" FLEETTUNE_TARGET_KEY);

absl::Status CountedValidateWorkload(const v1::Workload& workload) {
  ++validate_workload_calls;
  return RealValidateWorkload(workload);
}
absl::Status CountedValidateTarget(const v1::Target& target) {
  ++validate_target_calls;
  return RealValidateTarget(target);
}
std::string CountedWorkloadKey(const v1::Workload& workload) {
  ++workload_key_calls;
  return RealWorkloadKey(workload);
}
std::string CountedTargetKey(const v1::Target& target) {
  ++target_key_calls;
  return RealTargetKey(target);
}

}  // namespace fleettune::codegen

namespace fleettune::tuner {
namespace {

using codegen::target_key_calls;
using codegen::validate_target_calls;
using codegen::validate_workload_calls;
using codegen::workload_key_calls;

constexpr char kKey[] = "once";

struct Counts {
  int validate_workload = 0;
  int validate_target = 0;
  int workload_key = 0;
  int target_key = 0;
};

Counts TakeCounts() {
  return {validate_workload_calls.exchange(0), validate_target_calls.exchange(0),
          workload_key_calls.exchange(0), target_key_calls.exchange(0)};
}

class ValidateOnceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("FLEETTUNE_RPC_SERVER", FLEETTUNE_RPC_SERVER_BIN, /*overwrite=*/0);
    absl::StatusOr<std::unique_ptr<EmbeddedFleet>> fleet = EmbeddedFleet::Start(kKey, 1);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    dir_ = std::filesystem::temp_directory_path() /
           ("fleettune-validate-once-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    absl::StatusOr<std::unique_ptr<db::Database>> database =
        db::Database::Open((dir_ / "once.db").string());
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *std::move(database);
  }
  void TearDown() override {
    database_.reset();
    fleet_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  TuneOptions Options(const std::string& workload, int trials) {
    TuneOptions options(*codegen::CheckedWorkload::Parse(workload),
                        *codegen::CheckedTarget::Parse("host -threads=1"));
    options.device_key = kKey;
    options.tracker_address = fleet_->address();
    options.tracker_token = fleet_->client_token();
    options.trials = trials;
    options.tuner = "xgb";
    options.seed = 5;
    options.batch_size = 4;
    options.measure = DefaultMeasureOptions();
    options.measure.set_repeat(1);
    options.measure.set_min_repeat_ms(1);
    return options;
  }

  std::unique_ptr<EmbeddedFleet> fleet_;
  std::filesystem::path dir_;
  std::unique_ptr<db::Database> database_;
};

TEST_F(ValidateOnceTest, AJobChecksAndKeysOnlyWhereStringsEnter) {
  // The edge: parsing checks (inside workload.cc/target.cc) and keys each once.
  TakeCounts();
  const TuneOptions options = Options("matmul:m=24,n=40,k=16", 12);
  Counts edge = TakeCounts();
  EXPECT_EQ(edge.workload_key, 1);
  EXPECT_EQ(edge.target_key, 1);
  // The counters see calls from other translation units (else every count below is
  // trivially 0): checking a message validates it once through the wrapper.
  ASSERT_TRUE(codegen::CheckedWorkload::Check(options.workload.proto()).ok());
  ASSERT_TRUE(codegen::CheckedTarget::Check(options.target.proto()).ok());
  Counts check = TakeCounts();
  ASSERT_EQ(check.validate_workload, 1);
  ASSERT_EQ(check.validate_target, 1);

  // A whole job: 12 trials built, featurised for the xgb model (hundreds of candidates),
  // measured and recorded, with no further check or key.
  absl::StatusOr<TuneSummary> summary = RunTuningJob(options, *database_, nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->trials, 12);
  Counts job = TakeCounts();
  EXPECT_EQ(job.validate_workload, 0);
  EXPECT_EQ(job.validate_target, 0);
  EXPECT_EQ(job.workload_key, 0);
  EXPECT_EQ(job.target_key, 0);

  // Resuming it reads the database by the keys it already holds.
  TuneOptions resumed = options;
  resumed.resume = true;
  resumed.trials = 16;
  summary = RunTuningJob(resumed, *database_, nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->resumed_trials, 12);
  job = TakeCounts();
  EXPECT_EQ(job.validate_workload, 0);
  EXPECT_EQ(job.validate_target, 0);
  EXPECT_EQ(job.workload_key, 0);
  EXPECT_EQ(job.target_key, 0);

  // Another shape transfers from the first one's 16 records: that workload key enters from
  // the database and is parsed (and keyed) once, not once per record.
  const TuneOptions other = Options("matmul:m=32,n=24,k=16", 4);
  TakeCounts();
  summary = RunTuningJob(other, *database_, nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GT(summary->transfer_rows, 0);
  job = TakeCounts();
  EXPECT_EQ(job.validate_workload, 0);
  EXPECT_EQ(job.validate_target, 0);
  EXPECT_EQ(job.workload_key, 1);
  EXPECT_EQ(job.target_key, 0);
}

}  // namespace
}  // namespace fleettune::tuner
