// CheckedWorkload and CheckedTarget: only a good string or message makes one, with the same
// error as the unchecked parser or validator otherwise, and the key is the canonical one.
#include <set>
#include <string>

#include "codegen/build.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::codegen {
namespace {

using ::testing::HasSubstr;

struct KeyCase {
  std::string text;
  std::string key;
};

// DESIGN.md's "Workload string" grammar: every op, optional parameters given, defaulted and
// left out, an explicit dtype, and whitespace.
const KeyCase kWorkloads[] = {
    {"matmul:m=1024,n=1024,k=1024", "matmul:m=1024,n=1024,k=1024"},
    {" matmul : m=7, n=13 ,k=5,dtype=float32 ", "matmul:m=7,n=13,k=5"},
    {"matmul:m=2,n=3,k=4,bias=0,relu=1", "matmul:m=2,n=3,k=4,relu=1"},
    {"batch_matmul:b=3,m=7,n=13,k=5,bias=1", "batch_matmul:b=3,m=7,n=13,k=5,bias=1"},
    {"conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1",
     "conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1"},
    {"conv2d:n=2,c=3,h=11,w=10,k=5,r=3,s=2,stride=2,pad=0,dilation=2,bias=1,relu=1",
     "conv2d:n=2,c=3,h=11,w=10,k=5,r=3,s=2,stride=2,pad=0,dilation=2,bias=1,relu=1"},
    {"conv2d:n=1,c=8,h=8,w=8,k=8,r=3,s=3,stride=1,pad=1,dilation=1",
     "conv2d:n=1,c=8,h=8,w=8,k=8,r=3,s=3,stride=1,pad=1"},
    {"depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=1,pad=1",
     "depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=1,pad=1"},
    {"depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=2,pad=1,relu=1",
     "depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=2,pad=1,relu=1"},
};

TEST(CheckedWorkloadTest, KeyIsWorkloadKeyOfTheParsedMessageForEveryOp) {
  std::set<std::string> ops;
  for (const KeyCase& c : kWorkloads) {
    absl::StatusOr<CheckedWorkload> checked = CheckedWorkload::Parse(c.text);
    ASSERT_TRUE(checked.ok()) << c.text << ": " << checked.status();
    const v1::Workload parsed = *ParseWorkload(c.text);
    EXPECT_EQ(checked->key(), c.key) << c.text;
    EXPECT_EQ(checked->key(), WorkloadKey(parsed)) << c.text;
    EXPECT_EQ(checked->proto().SerializeAsString(), parsed.SerializeAsString()) << c.text;
    EXPECT_EQ(checked->op(), parsed.op());
    // Tensors and flops without re-checking agree with the checking functions.
    ASSERT_EQ(checked->Tensors().size(), WorkloadTensors(parsed).size()) << c.text;
    for (size_t i = 0; i < checked->Tensors().size(); ++i) {
      EXPECT_EQ(checked->Tensors()[i].SerializeAsString(),
                WorkloadTensors(parsed)[i].SerializeAsString())
          << c.text;
    }
    EXPECT_GT(checked->Flops(), 0) << c.text;
    EXPECT_DOUBLE_EQ(checked->Flops(), WorkloadFlops(parsed)) << c.text;
    // The key parses back to itself; the message checks to the same key.
    absl::StatusOr<CheckedWorkload> again = CheckedWorkload::Parse(checked->key());
    ASSERT_TRUE(again.ok()) << checked->key();
    EXPECT_EQ(again->key(), c.key);
    absl::StatusOr<CheckedWorkload> from_message = CheckedWorkload::Check(parsed);
    ASSERT_TRUE(from_message.ok()) << from_message.status();
    EXPECT_EQ(from_message->key(), c.key);
    ops.insert(checked->op());
  }
  std::set<std::string> registered;
  for (const OpInfo& op : RegisteredOps()) registered.insert(op.name);
  EXPECT_EQ(ops, registered) << "the table covers every registered op";
}

// A message keeps its form (a default given explicitly, no dtype), the key is canonical.
TEST(CheckedWorkloadTest, CheckKeepsTheMessageAndKeysItCanonically) {
  v1::Workload workload;
  workload.set_op("matmul");
  for (auto [name, value] : {std::pair{"m", 2}, {"n", 3}, {"k", 4}, {"bias", 0}, {"relu", 1}}) {
    v1::Workload::Param* param = workload.add_params();
    param->set_name(name);
    param->set_value(value);
  }
  absl::StatusOr<CheckedWorkload> checked = CheckedWorkload::Check(workload);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->proto().SerializeAsString(), workload.SerializeAsString());
  EXPECT_EQ(checked->key(), "matmul:m=2,n=3,k=4,relu=1");
  EXPECT_EQ(checked->key(), WorkloadKey(workload));
}

// A bad string makes no CheckedWorkload, and the error is ParseWorkload's, word for word.
TEST(CheckedWorkloadTest, BadStringsGiveParseWorkloadsError) {
  for (const char* text :
       {"", "softmax:n=4", "matmul:m=1,n=2", "matmul:m=1,k=2,n=3", "matmul:m=1,n=1,k=1,m=1",
        "matmul:m=0,n=1,k=1", "matmul:m=x,n=1,k=1", "matmul:m=1,n=1,k=1,dtype=int8",
        "matmul:m=1,n=1,k=1,relu=2", "conv2d:n=1,c=1,h=1,w=1,k=1,r=3,s=3,stride=1,pad=0",
        "matmul:m=16384,n=16384,k=16384"}) {
    absl::StatusOr<CheckedWorkload> checked = CheckedWorkload::Parse(text);
    ASSERT_FALSE(checked.ok()) << text;
    EXPECT_EQ(checked.status(), ParseWorkload(text).status()) << text;
    EXPECT_EQ(checked.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

// A bad message makes no CheckedWorkload, and the error is ValidateWorkload's.
TEST(CheckedWorkloadTest, BadMessagesGiveValidateWorkloadsError) {
  const v1::Workload good = *ParseWorkload("matmul:m=2,n=3,k=4");
  v1::Workload unknown = good;
  unknown.set_op("conv9d");
  v1::Workload swapped = good;
  swapped.mutable_params()->SwapElements(0, 1);
  v1::Workload zero = good;
  zero.mutable_params(2)->set_value(0);
  v1::Workload missing = good;
  missing.mutable_params()->RemoveLast();
  v1::Workload dtype = good;
  dtype.set_dtype("float16");
  v1::Workload too_big = good;
  too_big.mutable_params(0)->set_value(1 << 24);
  too_big.mutable_params(2)->set_value(1 << 24);
  for (const v1::Workload& bad : {unknown, swapped, zero, missing, dtype, too_big}) {
    absl::StatusOr<CheckedWorkload> checked = CheckedWorkload::Check(bad);
    ASSERT_FALSE(checked.ok()) << bad.ShortDebugString();
    EXPECT_EQ(checked.status(), ValidateWorkload(bad)) << bad.ShortDebugString();
    EXPECT_EQ(checked.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(std::string(CheckedWorkload::Check(unknown).status().message()),
              HasSubstr("unknown op 'conv9d'"));
}

TEST(CheckedTargetTest, KeyIsTargetKeyOfTheParsedMessage) {
  for (const char* text :
       {"host", "host -threads=1",
        "llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -mattr=+neon -threads=4",
        "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 -mattr=+fma,+avx2 -threads=2",
        "host -mtriple=aarch64-linux-gnu -threads=8", "opencl", "opencl -platform=P -device=2"}) {
    absl::StatusOr<CheckedTarget> checked = CheckedTarget::Parse(text);
    ASSERT_TRUE(checked.ok()) << text << ": " << checked.status();
    const v1::Target parsed = *ParseTarget(text);
    EXPECT_EQ(checked->key(), TargetKey(parsed)) << text;
    EXPECT_EQ(checked->proto().SerializeAsString(), parsed.SerializeAsString()) << text;
    EXPECT_EQ(checked->is_opencl(), IsOpenClTarget(parsed)) << text;
    absl::StatusOr<CheckedTarget> again = CheckedTarget::Parse(checked->key());
    ASSERT_TRUE(again.ok()) << checked->key() << ": " << again.status();
    EXPECT_EQ(again->key(), checked->key());
    absl::StatusOr<CheckedTarget> from_message = CheckedTarget::Check(parsed);
    ASSERT_TRUE(from_message.ok()) << from_message.status();
    EXPECT_EQ(from_message->key(), checked->key());
  }
  EXPECT_EQ(
      CheckedTarget::Parse("llvm -mtriple=x86_64-pc-linux-gnu -mattr=+fma,+avx2 -threads=2")->key(),
      "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=generic -mattr=+avx2,+fma -threads=2");
}

TEST(CheckedTargetTest, BadStringsAndMessagesGiveTheUncheckedError) {
  for (const char* text : {"", "cuda", "llvm -mtriple=nonsense-x-y", "host -threads=0",
                           "host -mcpu=not-a-cpu", "opencl -device=x", "host -color=red"}) {
    absl::StatusOr<CheckedTarget> checked = CheckedTarget::Parse(text);
    ASSERT_FALSE(checked.ok()) << text;
    EXPECT_EQ(checked.status(), ParseTarget(text).status()) << text;
  }
  const v1::Target host = *ParseTarget("host");
  v1::Target no_threads = host;
  no_threads.set_threads(0);
  v1::Target bad_triple = host;
  bad_triple.set_triple("nonsense-x-y");
  v1::Target opencl_threads = *ParseTarget("opencl");
  opencl_threads.set_threads(4);
  for (const v1::Target& bad : {no_threads, bad_triple, opencl_threads}) {
    absl::StatusOr<CheckedTarget> checked = CheckedTarget::Check(bad);
    ASSERT_FALSE(checked.ok()) << bad.ShortDebugString();
    EXPECT_EQ(checked.status(), ValidateTarget(bad)) << bad.ShortDebugString();
  }
  EXPECT_THAT(std::string(CheckedTarget::Check(no_threads).status().message()),
              HasSubstr("-threads"));
}

// The overloads for unchecked messages go through Check: the same error for a bad message,
// the same result for a good one.
TEST(CheckedEntryTest, UncheckedOverloadsCheckOnceThenAgreeWithTheCheckedOnes) {
  const CheckedWorkload workload = *CheckedWorkload::Parse("matmul:m=8,n=8,k=8");
  const CheckedTarget target = *CheckedTarget::Parse("host -threads=1");
  v1::Workload bad = workload.proto();
  bad.mutable_params(0)->set_value(0);
  EXPECT_EQ(SearchSpaceFor(bad, target.proto()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SearchSpaceFor(bad, target.proto()).status(), CheckedWorkload::Check(bad).status());
  EXPECT_EQ(BuildReference(bad, target.proto()).status(), CheckedWorkload::Check(bad).status());
  v1::Target no_threads = target.proto();
  no_threads.set_threads(0);
  EXPECT_EQ(SearchSpaceFor(workload.proto(), no_threads).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SearchSpaceFor(workload.proto(), no_threads).status(),
            CheckedTarget::Check(no_threads).status());

  const SearchSpace checked_space = *SearchSpaceFor(workload, target);
  const SearchSpace space = *SearchSpaceFor(workload.proto(), target.proto());
  EXPECT_EQ(space.size(), checked_space.size());
  EXPECT_EQ(space.DefaultConfig().SerializeAsString(),
            checked_space.DefaultConfig().SerializeAsString());
  absl::StatusOr<BuiltKernel> built =
      BuildKernel(workload.proto(), target.proto(), space.DefaultConfig());
  absl::StatusOr<BuiltKernel> checked_built = BuildKernel(workload, target, space.DefaultConfig());
  ASSERT_TRUE(built.ok()) << built.status();
  ASSERT_TRUE(checked_built.ok()) << checked_built.status();
  EXPECT_EQ(built->c_header, checked_built->c_header);
  EXPECT_THAT(checked_built->c_header, HasSubstr("kernel for matmul:m=8,n=8,k=8 (float32)"));
  EXPECT_THAT(checked_built->c_header, HasSubstr("// target: " + target.key()));
}

}  // namespace
}  // namespace fleettune::codegen
