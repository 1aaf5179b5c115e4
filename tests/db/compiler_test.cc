// fleettune::Compiler's fallback chain over a real database: exact, other device, nearest
// workload (only with a config valid for the shape), template default.
#include "tuner/compiler.h"

#include <cmath>

#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "gtest/gtest.h"
#include "tests/db/test_util.h"

namespace fleettune {
namespace {

using ::fleettune::db::testing::ScratchDir;

class CompilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("t.db");
    absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::Open(path_);
    ASSERT_TRUE(database.ok()) << database.status();
    db_ = database->get();
    compiler_ = std::make_unique<Compiler>(*std::move(database));
  }

  // Records config `index` of `workload`'s search space as an OK measurement.
  db::Record Add(const std::string& workload, const std::string& device, uint64_t index,
                 double mean_cost, const v1::Config* config = nullptr) {
    codegen::CheckedWorkload parsed = *codegen::CheckedWorkload::Parse(workload);
    codegen::SearchSpace space = *codegen::SearchSpaceFor(parsed, target_);
    db::Record record;
    record.workload_key = codegen::WorkloadKey(parsed.proto());
    record.target_key = codegen::TargetKey(target_.proto());
    record.device_key = device;
    record.job = "job";
    record.trial = next_trial_++;
    record.config = config ? *config : space.ConfigAt(index % space.size());
    record.config_hash = codegen::ConfigHash(record.config);
    record.status = v1::OK;
    record.costs = {mean_cost};
    record.mean_cost = mean_cost;
    record.gflops = 1e-3 / mean_cost;
    record.version = Compiler::FleettuneVersion();
    record.llvm_version = Compiler::LlvmVersion();
    EXPECT_TRUE(db_->Insert(&record).ok());
    return record;
  }

  ScratchDir dir_;
  std::string path_;
  const codegen::CheckedTarget target_ = *codegen::CheckedTarget::Parse("host -threads=1");
  db::Database* db_ = nullptr;
  std::unique_ptr<Compiler> compiler_;
  int next_trial_ = 0;
};

TEST_F(CompilerTest, ExactRecordOfTheDeviceWins) {
  Add("matmul:m=64,n=64,k=64", "a", 3, 2e-3);
  const db::Record fastest = Add("matmul:m=64,n=64,k=64", "a", 5, 1e-3);
  Add("matmul:m=64,n=64,k=64", "b", 7, 0.5e-3);  // faster, but another device
  absl::StatusOr<LookupResult> lookup =
      compiler_->Lookup("matmul:m=64,n=64,k=64", "host -threads=1", "a");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->source, ConfigSource::kExact);
  ASSERT_TRUE(lookup->record.has_value());
  EXPECT_EQ(lookup->record->id, fastest.id);
  EXPECT_EQ(lookup->config.SerializeAsString(), fastest.config.SerializeAsString());
  EXPECT_FALSE(lookup->older_compiler);
  EXPECT_NE(lookup->explanation.find("using record #" + std::to_string(fastest.id)),
            std::string::npos)
      << lookup->explanation;
}

TEST_F(CompilerTest, OtherDeviceOfTheTargetWhenTheDeviceHasNone) {
  const db::Record other = Add("matmul:m=64,n=64,k=64", "b", 7, 0.5e-3);
  absl::StatusOr<LookupResult> lookup =
      compiler_->Lookup("matmul:m=64,n=64,k=64", "host -threads=1", "a");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->source, ConfigSource::kOtherDevice);
  EXPECT_EQ(lookup->record->id, other.id);
  EXPECT_STREQ(ConfigSourceName(lookup->source), "other_device");
}

TEST_F(CompilerTest, NearestWorkloadWhoseConfigFitsThisShape) {
  const codegen::CheckedWorkload want = *codegen::CheckedWorkload::Parse("matmul:m=64,n=64,k=64");
  const codegen::SearchSpace space = *codegen::SearchSpaceFor(want, target_);
  // The nearest workload (k=72) has only a config with tile_k=72, not a choice for k=64: skipped.
  v1::Config big_k =
      codegen::SearchSpaceFor(*codegen::CheckedWorkload::Parse("matmul:m=64,n=64,k=72"), target_)
          ->DefaultConfig();
  ASSERT_FALSE(space.IndexOf(big_k).ok());
  Add("matmul:m=64,n=64,k=72", "a", 0, 1e-6, &big_k);
  // The nearest one (m=80) holds a config that fits; a farther one (m=1024) a faster one.
  const db::Record near = Add("matmul:m=80,n=64,k=64", "a", 0, 1e-3, &space.DefaultConfig());
  v1::Config other = space.ConfigAt(1);
  Add("matmul:m=1024,n=64,k=64", "a", 0, 1e-5, &other);
  Add("conv2d:n=1,c=8,h=8,w=8,k=8,r=3,s=3,stride=1,pad=1", "a", 0, 1e-7);  // another op

  absl::StatusOr<LookupResult> lookup = compiler_->Lookup(want, target_, "a");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->source, ConfigSource::kNearestWorkload);
  EXPECT_EQ(lookup->record->id, near.id) << lookup->explanation;
  EXPECT_NEAR(lookup->distance, std::log(81.0 / 65.0), 1e-12);
  EXPECT_TRUE(space.IndexOf(lookup->config).ok());
  EXPECT_NE(lookup->explanation.find("matmul:m=80,n=64,k=64"), std::string::npos);
}

TEST_F(CompilerTest, TemplateDefaultWhenNothingFitsOrNoDatabase) {
  Add("conv2d:n=1,c=8,h=8,w=8,k=8,r=3,s=3,stride=1,pad=1", "a", 0, 1e-7);
  const codegen::CheckedWorkload want = *codegen::CheckedWorkload::Parse("matmul:m=64,n=64,k=64");
  const v1::Config expected = codegen::SearchSpaceFor(want, target_)->DefaultConfig();
  absl::StatusOr<LookupResult> lookup = compiler_->Lookup(want, target_, "a");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->source, ConfigSource::kDefault);
  EXPECT_FALSE(lookup->record.has_value());
  EXPECT_EQ(lookup->config.SerializeAsString(), expected.SerializeAsString());

  absl::StatusOr<std::unique_ptr<Compiler>> none = Compiler::Open(dir_.File("missing.db"));
  ASSERT_TRUE(none.ok()) << none.status();
  lookup = (*none)->Lookup(want, target_, "");
  ASSERT_TRUE(lookup.ok());
  EXPECT_EQ(lookup->source, ConfigSource::kDefault);
  EXPECT_NE(lookup->explanation.find("no tuning database"), std::string::npos);

  EXPECT_EQ(compiler_->Lookup("matmul:m=4,n=4,k=four", "host", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CompilerTest, OlderCompilerRecordsAreUsedAndMarked) {
  const codegen::CheckedWorkload want = *codegen::CheckedWorkload::Parse("matmul:m=64,n=64,k=64");
  db::Record old = Add("matmul:m=64,n=64,k=64", "a", 2, 1e-3);
  // Rewrite as if from a schema-1 fleettune: no LLVM version known.
  db::Record legacy = old;
  legacy.trial = 99;
  legacy.llvm_version = "";
  legacy.version = "0.0.1";
  legacy.mean_cost = 0.5e-3;
  ASSERT_TRUE(db_->Insert(&legacy).ok());
  absl::StatusOr<CompiledKernel> built = compiler_->Build(want, target_, "a");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->lookup.record->id, legacy.id);
  EXPECT_TRUE(built->lookup.older_compiler);
  EXPECT_NE(built->lookup.explanation.find("older compiler"), std::string::npos);
  EXPECT_GT(built->kernel.shared_object.size(), 64u);
  EXPECT_EQ(built->kernel.shared_object.substr(1, 3), "ELF");
}

TEST(WorkloadDistanceTest, SumOfLogRatiosAndInfiniteAcrossOps) {
  const v1::Workload a = *codegen::ParseWorkload("matmul:m=63,n=63,k=63");
  const v1::Workload b = *codegen::ParseWorkload("matmul:m=127,n=63,k=31");
  EXPECT_NEAR(WorkloadDistance(a, b), std::log(2.0) + std::log(2.0), 1e-12);
  EXPECT_EQ(WorkloadDistance(a, a), 0);
  const v1::Workload conv =
      *codegen::ParseWorkload("conv2d:n=1,c=8,h=8,w=8,k=8,r=3,s=3,stride=1,pad=1");
  EXPECT_TRUE(std::isinf(WorkloadDistance(a, conv)));
}

}  // namespace
}  // namespace fleettune
