// The loop-nest interpreter: what each node computes (loops with a non-zero start, integer
// arithmetic with floor division, min/max, conditionals, float arithmetic, scoped
// allocations), and the errors it reports instead of touching memory it was not given.
#include "codegen/internal/interpret_nest.h"

#include <cmath>
#include <vector>

#include "codegen/internal/ir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::codegen {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ir::Expr Int(int64_t v) { return ir::MakeInt(v); }
ir::Expr V(const char* name) { return ir::MakeVar(name); }
ir::Stmt Loop(const char* var, int64_t min, int64_t extent, ir::Stmt body) {
  return ir::MakeFor(var, Int(min), Int(extent), ir::ForKind::kVectorized, std::move(body));
}

TEST(InterpretNestTest, ClampedCopyWithOffsetLoop) {
  // out[i - 2] = in[min(i, 4)] for i in [2, 8): the kinds of loops do not matter.
  std::vector<float> in = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<float> out(6, -1);
  ir::Stmt nest = Loop(
      "i", 2, 6,
      ir::MakeStore("out", ir::Sub(V("i"), Int(2)), ir::MakeLoad("in", ir::Min(V("i"), Int(4)))));
  ASSERT_TRUE(InterpretNest(nest, {{"in", absl::MakeSpan(in)}, {"out", absl::MakeSpan(out)}}).ok());
  EXPECT_THAT(out, ElementsAre(2, 3, 4, 4, 4, 4));
}

TEST(InterpretNestTest, IntegerArithmeticFloorsAndSelects) {
  // For i in [0, 6), with q = (i - 3) / 2 floored (-2, -1, -1, 0, 0, 1):
  //   sign[i] = q >= 0 ? 100 : -100
  //   low[i] = in[q + 2] when i < 3 (no else: the rest stay -1)
  //   high[i] = in[max(i, 3) * 2 - 6]
  std::vector<float> in = {10, 11, 12, 13, 14, 15, 16};
  std::vector<float> sign(6, -1), low(6, -1), high(6, -1);
  ir::Expr q = ir::Div(ir::Sub(V("i"), Int(3)), Int(2));
  ir::Stmt nest = Loop(
      "i", 0, 6,
      ir::MakeBlock(
          {ir::MakeIfThenElse(ir::GE(q, Int(0)), ir::MakeStore("sign", V("i"), ir::MakeFloat(100)),
                              ir::MakeStore("sign", V("i"), ir::MakeFloat(-100))),
           ir::MakeIfThenElse(ir::LT(V("i"), Int(3)),
                              ir::MakeStore("low", V("i"), ir::MakeLoad("in", ir::Add(q, Int(2))))),
           ir::MakeStore(
               "high", V("i"),
               ir::MakeLoad("in", ir::Sub(ir::Mul(ir::Max(V("i"), Int(3)), Int(2)), Int(6))))}));
  ASSERT_TRUE(InterpretNest(nest, {{"in", absl::MakeSpan(in)},
                                   {"sign", absl::MakeSpan(sign)},
                                   {"low", absl::MakeSpan(low)},
                                   {"high", absl::MakeSpan(high)}})
                  .ok());
  EXPECT_THAT(sign, ElementsAre(-100, -100, -100, 100, 100, 100));
  EXPECT_THAT(low, ElementsAre(10, 11, 11, -1, -1, -1));
  EXPECT_THAT(high, ElementsAre(10, 10, 10, 10, 12, 14));
}

TEST(InterpretNestTest, FloatArithmeticIsFloat32) {
  std::vector<float> in = {1.0f, 3.0f, 1e-8f};
  std::vector<float> out(4);
  ir::Expr a = ir::MakeLoad("in", Int(0)), b = ir::MakeLoad("in", Int(1));
  ir::Expr tiny = ir::MakeLoad("in", Int(2));
  ir::Stmt nest = ir::MakeBlock({
      ir::MakeStore("out", Int(0), ir::Div(a, b)),
      ir::MakeStore("out", Int(1), ir::Add(a, tiny)),  // 1 + 1e-8 rounds to 1 in float32
      ir::MakeStore("out", Int(2), ir::Max(ir::Sub(a, b), ir::MakeFloat(0))),
      ir::MakeStore("out", Int(3), ir::Mul(ir::Min(a, b), ir::MakeFloat(2.5))),
  });
  ASSERT_TRUE(InterpretNest(nest, {{"in", absl::MakeSpan(in)}, {"out", absl::MakeSpan(out)}}).ok());
  EXPECT_EQ(out[0], 1.0f / 3.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 2.5f);
}

TEST(InterpretNestTest, AllocationIsScopedAndStartsAsNaN) {
  // tmp[j] = in[j] * 2 inside an allocation, then out[j] = tmp[2 - j]; out[3] = tmp[3]
  // (never written: NaN).
  std::vector<float> in = {1, 2, 3};
  std::vector<float> out(4, -1);
  ir::Stmt nest = ir::MakeAllocate(
      "tmp", 4, ir::MemoryKind::kHeap,
      ir::MakeBlock(
          {Loop(
               "j", 0, 3,
               ir::MakeStore("tmp", V("j"), ir::Mul(ir::MakeLoad("in", V("j")), ir::MakeFloat(2)))),
           Loop("j", 0, 3,
                ir::MakeStore("out", V("j"), ir::MakeLoad("tmp", ir::Sub(Int(2), V("j"))))),
           ir::MakeStore("out", Int(3), ir::MakeLoad("tmp", Int(3)))}));
  ASSERT_TRUE(InterpretNest(nest, {{"in", absl::MakeSpan(in)}, {"out", absl::MakeSpan(out)}}).ok());
  EXPECT_EQ(out[0], 6);
  EXPECT_EQ(out[1], 4);
  EXPECT_EQ(out[2], 2);
  EXPECT_TRUE(std::isnan(out[3]));
  // Outside its allocation the buffer is unknown.
  ir::Stmt after = ir::MakeBlock({nest, ir::MakeStore("tmp", Int(0), ir::MakeFloat(1))});
  absl::Status status =
      InterpretNest(after, {{"in", absl::MakeSpan(in)}, {"out", absl::MakeSpan(out)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unbound buffer 'tmp'"));
}

TEST(InterpretNestTest, OutOfBoundsAccessStopsWithItsIndex) {
  std::vector<float> in = {1, 2, 3};
  std::vector<float> out(3, -1);
  ir::Stmt store = Loop("i", 0, 5, ir::MakeStore("out", V("i"), ir::MakeFloat(7)));
  absl::Status status = InterpretNest(store, {{"out", absl::MakeSpan(out)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(), "store to 'out' at 3, outside [0, 3)");
  EXPECT_THAT(out, ElementsAre(7, 7, 7));
  ir::Stmt load =
      Loop("i", 0, 3, ir::MakeStore("out", V("i"), ir::MakeLoad("in", ir::Sub(V("i"), Int(1)))));
  status = InterpretNest(load, {{"in", absl::MakeSpan(in)}, {"out", absl::MakeSpan(out)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(), "load from 'in' at -1, outside [0, 3)");
  ir::Stmt divide =
      ir::MakeStore("out", ir::Div(Int(1), ir::Sub(Int(2), Int(2))), ir::MakeFloat(0));
  status = InterpretNest(divide, {{"out", absl::MakeSpan(out)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("division by zero"));
}

TEST(InterpretNestTest, UnboundNamesFailBeforeRunning) {
  std::vector<float> out(2, -1);
  ir::Stmt nest = ir::MakeBlock({ir::MakeStore("out", Int(0), ir::MakeFloat(1)),
                                 ir::MakeStore("out", V("k"), ir::MakeFloat(1))});
  absl::Status status = InterpretNest(nest, {{"out", absl::MakeSpan(out)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unbound variable 'k'"));
  EXPECT_EQ(out[0], -1);  // nothing ran
  status = InterpretNest(ir::MakeStore("missing", Int(0), ir::MakeFloat(1)),
                         {{"out", absl::MakeSpan(out)}});
  EXPECT_THAT(status.message(), HasSubstr("unbound buffer 'missing'"));
}

}  // namespace
}  // namespace fleettune::codegen
