// The cache write (cache_write.h, the step of LowerSchedule that applies Schedule::CacheWrite):
// what it checks once the loop order is final. Its output on full, partial and overcomputed
// tiles is checked in lowering_test.cc.
#include <string>

#include "codegen/internal/ir.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/schedule.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::codegen {
namespace {

using ::testing::HasSubstr;

// out[i] += in[i*8 + k] over i (spatial, `rows`) and k (reduction, 8).
LoopNestDef RowSums(int64_t rows) {
  ir::Expr i = ir::MakeVar("i"), k = ir::MakeVar("k");
  ir::Expr sum =
      ir::Add(ir::MakeLoad("out", i), ir::MakeLoad("in", ir::Add(ir::Mul(i, ir::MakeInt(8)), k)));
  return {{{"i", rows, false}, {"k", 8, true}}, ir::MakeStore("out", i, sum)};
}

std::string LoweringError(const LoopNestDef& def, const Schedule& schedule) {
  return std::string(LowerSchedule(def, schedule).status().message());
}

// A loop split or fused away after the cache write names no loop of the final order.
TEST(CacheWriteTest, ALoopSplitOrFusedAfterTheCacheWriteIsNamed) {
  LoopNestDef def = RowSums(8);
  Schedule split_after(def);
  ASSERT_TRUE(split_after.CacheWrite("i", "out", "out.local").ok());
  ASSERT_TRUE(split_after.SplitLoop("i", 4, "i.o", "i.i").ok());
  EXPECT_EQ(LoweringError(def, split_after),
            "cache_write: loop 'i' is not a loop of the final order (split or fused after the "
            "cache write?)");

  // out[i*4 + j] += in[(i*4 + j)*8 + k]: two spatial axes that can be fused.
  ir::Expr i = ir::MakeVar("i"), j = ir::MakeVar("j"), k = ir::MakeVar("k");
  ir::Expr element = ir::Add(ir::Mul(i, ir::MakeInt(4)), j);
  LoopNestDef grid = {
      {{"i", 4, false}, {"j", 4, false}, {"k", 8, true}},
      ir::MakeStore("out", element,
                    ir::Add(ir::MakeLoad("out", element),
                            ir::MakeLoad("in", ir::Add(ir::Mul(element, ir::MakeInt(8)), k))))};
  Schedule fused_after(grid);
  ASSERT_TRUE(fused_after.CacheWrite("i", "out", "out.local").ok());
  ASSERT_TRUE(fused_after.FuseLoops("i", "j", "ij").ok());
  EXPECT_EQ(LoweringError(grid, fused_after),
            "cache_write: loop 'i' is not a loop of the final order (split or fused after the "
            "cache write?)");
}

// A body whose value is not a sum at all (a plain load, a constant) is refused like any other
// body that is not `out[i] = out[i] + ...`.
TEST(CacheWriteTest, ABodyThatIsNotASumIsRefused) {
  ir::Expr i = ir::MakeVar("i");
  for (ir::Expr value : {ir::MakeLoad("in", i), ir::MakeFloat(1)}) {
    LoopNestDef copy = {{{"i", 8, false}}, ir::MakeStore("out", i, value)};
    Schedule schedule(copy);
    ASSERT_TRUE(schedule.CacheWrite("i", "out", "out.local").ok());
    EXPECT_EQ(LoweringError(copy, schedule),
              "cache_write: loop 'i': the body is not a reduction 'out[i] = out[i] + ...'");
  }
}

}  // namespace
}  // namespace fleettune::codegen
