// Schedules, lowering passes and the IR printer (codegen internals).
#include <string>

#include "codegen/internal/ir.h"
#include "codegen/internal/ir_printer.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/partition_tails.h"
#include "codegen/internal/schedule.h"
#include "codegen/internal/simplify.h"
#include "codegen/internal/unroll_loops.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::codegen {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// out[i] = in[i] * 2 over one axis of `extent`.
LoopNestDef Scale(int64_t extent) {
  ir::Expr i = ir::MakeVar("i");
  return {{{"i", extent, false}},
          ir::MakeStore("out", i, ir::Mul(ir::MakeLoad("in", i), ir::MakeFloat(2.0)))};
}

TEST(SimplifyTest, FoldsConstantsAndIdentities) {
  ir::Expr x = ir::MakeVar("x");
  EXPECT_EQ(ir::ToString(ir::Simplify(ir::Add(ir::Add(x, ir::MakeInt(2)), ir::MakeInt(3)))),
            "(x + 5)");
  EXPECT_EQ(ir::ToString(ir::Simplify(ir::Mul(ir::MakeInt(1), ir::Add(x, ir::MakeInt(0))))), "x");
  EXPECT_EQ(
      ir::ToString(ir::Simplify(ir::Min(ir::MakeInt(4), ir::Sub(ir::MakeInt(10), ir::MakeInt(8))))),
      "2");
  EXPECT_EQ(ir::ToString(ir::Simplify(ir::Div(ir::MakeInt(-7), ir::MakeInt(2)))), "-4");
  // A single-iteration loop disappears, its variable replaced by the loop's min.
  ir::Stmt loop = ir::MakeFor("i", ir::MakeInt(3), ir::MakeInt(1), ir::ForKind::kSerial,
                              ir::MakeStore("out", ir::MakeVar("i"), ir::MakeFloat(1)));
  EXPECT_EQ(ir::ToString(ir::Simplify(loop)), "out[3] = 1f\n");
}

TEST(ScheduleTest, SplitOfANonDivisorGetsAMinBound) {
  LoopNestDef def = Scale(10);
  Schedule schedule(def);
  ASSERT_TRUE(schedule.SplitLoop("i", 4, "i.o", "i.v").ok());
  ASSERT_TRUE(schedule.Vectorize("i.v").ok());
  absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, schedule);
  ASSERT_TRUE(nest.ok()) << nest.status();
  EXPECT_EQ(ir::ToString(*nest),
            "serial for (i.o, 0, 3) {\n"
            "  vectorized for (i.v, 0, min(4, (10 - (i.o*4)))) {\n"
            "    out[((i.o*4) + i.v)] = (in[((i.o*4) + i.v)]*2f)\n"
            "  }\n"
            "}\n");
  // The tail pass gives the vector loop a constant extent and keeps a serial tail.
  std::string tails = ir::ToString(ir::PartitionTails(*nest));
  EXPECT_THAT(tails, HasSubstr("if (((10 - (i.o*4)) >= 4)) {\n    vectorized for (i.v, 0, 4)"));
  EXPECT_THAT(tails, HasSubstr("} else {\n    serial for (i.v, 0, (10 - (i.o*4)))"));
}

TEST(ScheduleTest, DivisibleSplitHasConstantExtents) {
  LoopNestDef def = Scale(12);
  Schedule schedule(def);
  ASSERT_TRUE(schedule.SplitLoop("i", 4, "i.o", "i.u").ok());
  ASSERT_TRUE(schedule.Unroll("i.u").ok());
  absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, schedule);
  ASSERT_TRUE(nest.ok());
  std::string text = ir::ToString(RunLoweringPasses(*nest, nullptr));
  EXPECT_THAT(text, HasSubstr("serial for (i.o, 0, 3)"));
  EXPECT_THAT(text, Not(HasSubstr("unrolled")));
  EXPECT_THAT(text, HasSubstr("out[(i.o*4)] ="));
  EXPECT_THAT(text, HasSubstr("out[((i.o*4) + 3)] = (in[((i.o*4) + 3)]*2f)"));
}

TEST(ScheduleTest, PrimitivesCheckPreconditionsNamingTheLoop) {
  ir::Expr i = ir::MakeVar("i"), k = ir::MakeVar("k");
  LoopNestDef def = {{{"i", 8, false}, {"k", 8, true}},
                     ir::MakeStore("out", i, ir::MakeLoad("in", ir::Add(i, k)))};
  Schedule schedule(def);
  EXPECT_THAT(std::string(schedule.SplitLoop("j", 2, "a", "b").message()),
              HasSubstr("no loop 'j'"));
  EXPECT_THAT(std::string(schedule.SplitLoop("i", 0, "a", "b").message()),
              HasSubstr("factor of loop 'i' must be >= 1"));
  EXPECT_THAT(std::string(schedule.SplitLoop("i", 2, "k", "b").message()), HasSubstr("are taken"));
  EXPECT_THAT(std::string(schedule.Reorder({"k"}).message()), HasSubstr("not a permutation"));
  EXPECT_THAT(std::string(schedule.Unroll("z").message()), HasSubstr("unrolled: no loop 'z'"));

  Schedule parallel_inner(def);
  ASSERT_TRUE(parallel_inner.Parallel("k").ok());
  EXPECT_THAT(std::string(LowerSchedule(def, parallel_inner).status().message()),
              HasSubstr("parallel: loop 'k' is not the outermost loop"));

  Schedule parallel_reduction(def);
  ASSERT_TRUE(parallel_reduction.Reorder({"k", "i"}).ok());
  ASSERT_TRUE(parallel_reduction.Parallel("k").ok());
  EXPECT_THAT(std::string(LowerSchedule(def, parallel_reduction).status().message()),
              HasSubstr("parallel: loop 'k' iterates a reduction axis"));

  Schedule vector_outer(def);
  ASSERT_TRUE(vector_outer.Vectorize("i").ok());
  EXPECT_THAT(std::string(LowerSchedule(def, vector_outer).status().message()),
              HasSubstr("vectorize: loop 'i' is not the innermost loop"));

  Schedule inside_out(def);
  ASSERT_TRUE(inside_out.SplitLoop("i", 3, "i.o", "i.i").ok());
  ASSERT_TRUE(inside_out.Reorder({"i.i", "k", "i.o"}).ok());
  EXPECT_THAT(std::string(LowerSchedule(def, inside_out).status().message()),
              HasSubstr("extent of loop 'i.i' depends on 'i.o'"));
}

TEST(LowerTest, DumpHasEveryPass) {
  LoopNestDef def = Scale(10);
  Schedule schedule(def);
  ASSERT_TRUE(schedule.SplitLoop("i", 4, "i.o", "i.u").ok());
  ASSERT_TRUE(schedule.Unroll("i.u").ok());
  std::string dump;
  ir::Stmt lowered = RunLoweringPasses(*LowerSchedule(def, schedule), &dump);
  for (const char* pass :
       {"// schedule\n", "// simplify\n", "// partition_tails\n", "// unroll_loops\n"}) {
    EXPECT_THAT(dump, HasSubstr(pass));
  }
  std::string text = ir::ToString(lowered);
  EXPECT_THAT(text, HasSubstr("if (((10 - (i.o*4)) >= 4))"));
  EXPECT_THAT(text, HasSubstr("out[((i.o*4) + 3)]"));                   // unrolled copy
  EXPECT_THAT(text, HasSubstr("serial for (i.u, 0, (10 - (i.o*4)))"));  // tail
}

}  // namespace
}  // namespace fleettune::codegen
