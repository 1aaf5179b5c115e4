// Schedules, lowering passes and the IR printer (codegen internals).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "codegen/internal/codegen_opencl.h"
#include "codegen/internal/ir.h"
#include "codegen/internal/ir_printer.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/partition_tails.h"
#include "codegen/internal/schedule.h"
#include "codegen/internal/simplify.h"
#include "codegen/internal/tensor_expr.h"
#include "codegen/internal/unroll_loops.h"
#include "codegen/internal/vectorize_loops.h"
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

TEST(CallTest, PassesKeepFloatCallsAndBackEndsSpellThem) {
  ir::Expr i = ir::MakeVar("i");
  ir::Expr value = ir::Div(ir::Exp(ir::MakeLoad("a", ir::Add(i, ir::MakeInt(0)))),
                           ir::Sqrt(ir::MakeLoad("b", i)));
  ir::Stmt loop = ir::MakeFor("i", ir::MakeInt(0), ir::MakeInt(8), ir::ForKind::kVectorized,
                              ir::MakeStore("out", i, value));
  // Simplify rewrites inside the call; the vectorized loop stays vector code.
  ir::Stmt lowered = RunLoweringPasses(loop, nullptr);
  EXPECT_EQ(ir::ToString(lowered), "vectorized for (i, 0, 8) {\n  out[i] = (exp(a[i])/sqrt(b[i]))\n}\n");
  EXPECT_TRUE(ir::Vectorizable(loop->As<ir::For>()->body, "i"));
  absl::StatusOr<OpenClKernel> opencl = EmitOpenCl(lowered, {"k", {"a", "b", "out"}, {}, {}});
  ASSERT_TRUE(opencl.ok()) << opencl.status();
  EXPECT_THAT(opencl->source, HasSubstr("(exp(a[v_i]) / sqrt(b[v_i]))"));
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
  // The tail pass peels the partial tile: two full vector tiles, then a serial tail of 2.
  EXPECT_EQ(ir::ToString(ir::PartitionTails(*nest)),
            "serial for (i.o, 0, 2) {\n"
            "  vectorized for (i.v, 0, 4) {\n"
            "    out[((i.o*4) + i.v)] = (in[((i.o*4) + i.v)]*2f)\n"
            "  }\n"
            "}\n"
            "serial for (i.v, 0, 2) {\n"
            "  out[(8 + i.v)] = (in[(8 + i.v)]*2f)\n"
            "}\n");
}

// A partial vector loop that is not the whole body of its tile loop keeps its test inside.
TEST(ScheduleTest, PartialTileNextToOtherWorkIsGuarded) {
  ir::Expr tile = ir::MakeVar("i.o");
  ir::Expr remaining = ir::Sub(ir::MakeVar("n"), ir::Mul(tile, ir::MakeInt(4)));
  ir::Stmt vector = ir::MakeFor("i.v", ir::MakeInt(0), ir::Min(ir::MakeInt(4), remaining),
                                ir::ForKind::kVectorized,
                                ir::MakeStore("out", ir::MakeVar("i.v"), ir::MakeFloat(1)));
  ir::Stmt loop =
      ir::MakeFor("i.o", ir::MakeInt(0), ir::MakeInt(3), ir::ForKind::kSerial,
                  ir::MakeBlock({vector, ir::MakeStore("flag", tile, ir::MakeFloat(0))}));
  std::string tails = ir::ToString(ir::PartitionTails(loop));
  EXPECT_THAT(tails, HasSubstr("if (((n - (i.o*4)) >= 4)) {\n    vectorized for (i.v, 0, 4)"));
  EXPECT_THAT(tails, HasSubstr("} else {\n    serial for (i.v, 0, (n - (i.o*4)))"));
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

// out[i] += in[i*8 + k] over i (spatial, `rows`) and k (reduction, 8).
LoopNestDef RowSums(int64_t rows) {
  ir::Expr i = ir::MakeVar("i"), k = ir::MakeVar("k");
  ir::Expr sum =
      ir::Add(ir::MakeLoad("out", i), ir::MakeLoad("in", ir::Add(ir::Mul(i, ir::MakeInt(8)), k)));
  return {{{"i", rows, false}, {"k", 8, true}}, ir::MakeStore("out", i, sum)};
}

TEST(ScheduleTest, CacheWriteAccumulatesFullTilesLocally) {
  LoopNestDef def = RowSums(10);
  Schedule schedule(def);
  ASSERT_TRUE(schedule.SplitLoop("i", 4, "i.o", "i.i").ok());
  ASSERT_TRUE(schedule.Reorder({"i.o", "k", "i.i"}).ok());
  ASSERT_TRUE(schedule.Unroll("i.i").ok());
  ir::Expr relu = ir::Max(ir::MakeLoad(kEpilogueValue, ir::MakeInt(0)), ir::MakeFloat(0));
  ASSERT_TRUE(schedule.CacheWrite("i.o", "out", "out.local", relu).ok());
  absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, schedule);
  ASSERT_TRUE(nest.ok()) << nest.status();
  std::string text = ir::ToString(*nest);
  // Full tiles: a 4-element local tile, zeroed, accumulated, written back through the epilogue.
  EXPECT_THAT(text, HasSubstr("if (((10 - (i.o*4)) >= 4)) {\n"
                              "    allocate out.local[4] on the stack {\n"
                              "      unrolled for (i.i, 0, 4) {\n"
                              "        out.local[i.i] = 0f\n"));
  EXPECT_THAT(text, HasSubstr("out.local[i.i] = (out.local[i.i] + in[((((i.o*4) + i.i)*8) + k)])"));
  EXPECT_THAT(text, HasSubstr("out[((i.o*4) + i.i)] = max(out.local[i.i], 0f)"));
  // The partial tile runs uncached: zero, accumulate into `out`, then the epilogue.
  EXPECT_THAT(text, HasSubstr("} else {\n    unrolled for (i.i, 0, min(4, (10 - (i.o*4)))) {\n"
                              "      out[((i.o*4) + i.i)] = 0f\n"));
  EXPECT_THAT(text, HasSubstr("out[((i.o*4) + i.i)] = max(out[((i.o*4) + i.i)], 0f)"));
  // Lowered all the way, the local tile only has constant indices (what SROA needs).
  std::string lowered = ir::ToString(RunLoweringPasses(*nest, nullptr));
  EXPECT_THAT(lowered, HasSubstr("out.local[3] = (out.local[3] + in["));
  EXPECT_THAT(lowered, Not(HasSubstr("out.local[i.i]")));
}

TEST(ScheduleTest, CacheWriteAndPackCheckPreconditionsNamingTheLoop) {
  LoopNestDef def = RowSums(12);
  Schedule schedule(def);
  EXPECT_THAT(std::string(schedule.CacheWrite("j", "out", "out.local").message()),
              HasSubstr("cache_write: no loop 'j'"));
  ASSERT_TRUE(schedule.CacheWrite("i", "out", "out.local").ok());
  EXPECT_THAT(std::string(schedule.CacheWrite("k", "out", "again").message()),
              HasSubstr("already cached at loop 'i'"));

  // An epilogue needs the whole reduction inside the cached loop.
  Schedule outer_reduction(def);
  ASSERT_TRUE(outer_reduction.Reorder({"k", "i"}).ok());
  ASSERT_TRUE(outer_reduction
                  .CacheWrite("k", "out", "out.local", ir::MakeLoad(kEpilogueValue, ir::MakeInt(0)))
                  .ok());
  EXPECT_THAT(std::string(LowerSchedule(def, outer_reduction).status().message()),
              HasSubstr("cache_write: loop 'k': an epilogue needs every reduction loop inside"));

  // A spatial loop inside the cached one must have a constant extent in full tiles.
  Schedule split_inside(def);
  ASSERT_TRUE(split_inside.SplitLoop("i", 5, "i.o", "i.i").ok());
  ASSERT_TRUE(split_inside.CacheWrite("k", "out", "out.local").ok());
  ASSERT_TRUE(split_inside.Reorder({"k", "i.o", "i.i"}).ok());
  EXPECT_THAT(std::string(LowerSchedule(def, split_inside).status().message()),
              HasSubstr("spatial loop 'i.i' inside it has no constant extent"));

  Schedule overcompute_reduction(def);
  ASSERT_TRUE(overcompute_reduction.CacheWrite("i", "out", "out.local", nullptr, {"k"}).ok());
  EXPECT_THAT(std::string(LowerSchedule(def, overcompute_reduction).status().message()),
              HasSubstr("cache_write: loop 'i': 'k' is not a spatial axis (overcompute)"));

  // Only reductions into the cached buffer can be cached.
  LoopNestDef copy = Scale(8);
  Schedule not_reduction(copy);
  ASSERT_TRUE(not_reduction.CacheWrite("i", "out", "out.local").ok());
  EXPECT_THAT(std::string(LowerSchedule(copy, not_reduction).status().message()),
              HasSubstr("cache_write: loop 'i': the body is not a reduction"));

  Schedule pack(def);
  EXPECT_TRUE(pack.PackInput({"in", "in.packed", 96, ir::MakeVar("k"), ir::MakeBlock({})}).ok());
  EXPECT_THAT(
      std::string(
          pack.PackInput({"in", "in.p2", 96, ir::MakeVar("k"), ir::MakeBlock({})}).message()),
      HasSubstr("pack: input 'in' is already packed"));
  Schedule pack_unread(def);
  ASSERT_TRUE(
      pack_unread.PackInput({"weights", "w.packed", 8, ir::MakeVar("k"), ir::MakeBlock({})}).ok());
  EXPECT_THAT(std::string(LowerSchedule(def, pack_unread).status().message()),
              HasSubstr("pack: input 'weights' is not read"));
}

// Along an overcompute axis a partial tile runs in the local tile too and stores only its
// part, through a spill buffer so the local tile keeps constant indices.
TEST(ScheduleTest, CacheWriteOvercomputesPartialTiles) {
  LoopNestDef def = RowSums(10);
  Schedule schedule(def);
  ASSERT_TRUE(schedule.SplitLoop("i", 4, "i.o", "i.i").ok());
  ASSERT_TRUE(schedule.Reorder({"i.o", "k", "i.i"}).ok());
  ASSERT_TRUE(schedule.Unroll("i.i").ok());
  ASSERT_TRUE(schedule.CacheWrite("i.o", "out", "out.local", nullptr, {"i"}).ok());
  absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, schedule);
  ASSERT_TRUE(nest.ok()) << nest.status();
  std::string text = ir::ToString(*nest);
  EXPECT_THAT(text, HasSubstr("serial for (i.o, 0, 3) {\n  allocate out.local[4] on the stack"));
  EXPECT_THAT(text, HasSubstr("allocate out.local.spill[4] on the stack {\n"
                              "        unrolled for (i.i, 0, 4) {\n"
                              "          out.local.spill[i.i] = out.local[i.i]\n"));
  EXPECT_THAT(text, HasSubstr("unrolled for (i.i, 0, min(4, (10 - (i.o*4)))) {\n"
                              "          out[((i.o*4) + i.i)] = out.local.spill[i.i]"));
  EXPECT_THAT(text, Not(HasSubstr("out[((i.o*4) + i.i)] = 0f")));  // no uncached path
}

TEST(ScheduleTest, PackReadsThePackedBufferInsideAHeapAllocation) {
  LoopNestDef def = RowSums(4);
  Schedule schedule(def);
  ir::Stmt copy = ir::MakeStore("in.packed", ir::MakeInt(0), ir::MakeFloat(1));
  ir::Expr index = ir::Add(ir::Mul(ir::MakeVar("k"), ir::MakeInt(4)), ir::MakeVar("i"));
  ASSERT_TRUE(schedule.PackInput({"in", "in.packed", 32, index, copy}).ok());
  absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, schedule);
  ASSERT_TRUE(nest.ok()) << nest.status();
  EXPECT_EQ(ir::ToString(*nest),
            "allocate in.packed[32] on the heap {\n"
            "  in.packed[0] = 1f\n"
            "  serial for (i, 0, 4) {\n"
            "    serial for (k, 0, 8) {\n"
            "      out[i] = (out[i] + in.packed[((k*4) + i)])\n"
            "    }\n"
            "  }\n"
            "}\n");
}

TEST(LowerTest, DumpHasEveryPass) {
  LoopNestDef def = Scale(10);
  Schedule schedule(def);
  ASSERT_TRUE(schedule.SplitLoop("i", 4, "i.o", "i.u").ok());
  ASSERT_TRUE(schedule.Unroll("i.u").ok());
  std::string dump;
  ir::Stmt lowered = RunLoweringPasses(*LowerSchedule(def, schedule), &dump);
  for (const char* pass : {"// schedule\n", "// simplify\n", "// partition_tails\n",
                           "// vectorize_loops\n", "// unroll_loops\n"}) {
    EXPECT_THAT(dump, HasSubstr(pass));
  }
  std::string text = ir::ToString(lowered);
  EXPECT_THAT(text, HasSubstr("serial for (i.o, 0, 2) {\n  out[(i.o*4)]"));
  EXPECT_THAT(text, HasSubstr("out[((i.o*4) + 3)]"));        // unrolled copy
  EXPECT_THAT(text, HasSubstr("serial for (i.u, 0, 2) {"));  // peeled tail
  EXPECT_THAT(text, HasSubstr("out[(8 + i.u)]"));
}

// A tiny interpreter of integer loop nests: every store a nest makes, in order, as
// (buffer, index) pairs. Loads evaluate to 0; enough to compare iteration spaces.
class StoreTrace {
 public:
  std::vector<std::pair<std::string, int64_t>> stores;

  void Run(const ir::Stmt& s) {
    if (const ir::For* loop = s->As<ir::For>()) {
      int64_t min = Eval(loop->min), extent = Eval(loop->extent);
      for (int64_t v = min; v < min + extent; ++v) {
        vars_[loop->var] = v;
        Run(loop->body);
      }
      vars_.erase(loop->var);
    } else if (const ir::Block* block = s->As<ir::Block>()) {
      for (const ir::Stmt& stmt : block->stmts) Run(stmt);
    } else if (const ir::Store* store = s->As<ir::Store>()) {
      stores.emplace_back(store->buffer, Eval(store->index));
    } else if (const ir::IfThenElse* branch = s->As<ir::IfThenElse>()) {
      if (Eval(branch->condition) != 0) {
        Run(branch->then_case);
      } else if (branch->else_case) {
        Run(branch->else_case);
      }
    } else if (const ir::Allocate* allocate = s->As<ir::Allocate>()) {
      Run(allocate->body);
    }
  }

 private:
  int64_t Eval(const ir::Expr& e) {
    int64_t value;
    if (ir::IsConstInt(e, &value)) return value;
    if (const ir::Var* var = e->As<ir::Var>()) return vars_.at(var->name);
    const ir::Binary* op = e->As<ir::Binary>();
    if (op == nullptr) return 0;
    int64_t a = Eval(op->a), b = Eval(op->b);
    switch (op->op) {
      case ir::BinaryOp::kAdd:
        return a + b;
      case ir::BinaryOp::kSub:
        return a - b;
      case ir::BinaryOp::kMul:
        return a * b;
      case ir::BinaryOp::kDiv:
        return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
      case ir::BinaryOp::kMin:
        return std::min(a, b);
      case ir::BinaryOp::kMax:
        return std::max(a, b);
      case ir::BinaryOp::kLT:
        return a < b;
      case ir::BinaryOp::kLE:
        return a <= b;
      case ir::BinaryOp::kGE:
        return a >= b;
      case ir::BinaryOp::kGT:
        return a > b;
      case ir::BinaryOp::kEQ:
        return a == b;
    }
    return 0;
  }
  std::map<std::string, int64_t> vars_;
};

std::vector<std::pair<std::string, int64_t>> Stores(const ir::Stmt& s) {
  StoreTrace trace;
  trace.Run(s);
  return trace.stores;
}

// out[i, j] = in[i, j] * 2 over i (rows) and j (cols), declared as a tensor expression.
LoopNestDef Scale2d(int64_t rows, int64_t cols) {
  te::Tensor in = te::Placeholder("in", {rows, cols}), out = te::Placeholder("out", {rows, cols});
  te::IterVar i = te::Spatial("i", rows), j = te::Spatial("j", cols);
  return {{{"i", rows, false}, {"j", cols, false}},
          ir::MakeStore("out", out.FlatIndex({i, j}), ir::Mul(in({i, j}), ir::MakeFloat(2)))};
}

TEST(ScheduleTest, FuseMakesOneLoopOverBothAxes) {
  LoopNestDef def = Scale2d(3, 5);
  Schedule schedule(def);
  ASSERT_TRUE(schedule.FuseLoops("i", "j", "ij").ok());
  EXPECT_EQ(schedule.loops(), std::vector<std::string>({"ij"}));
  // The fused loop can be split and run in parallel like any other.
  ASSERT_TRUE(schedule.SplitLoop("ij", 4, "ij.o", "ij.i").ok());
  ASSERT_TRUE(schedule.Parallel("ij.o").ok());
  absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, schedule);
  ASSERT_TRUE(nest.ok()) << nest.status();
  EXPECT_THAT(ir::ToString(*nest), HasSubstr("parallel for (ij.o, 0, 4) {"));
  EXPECT_THAT(ir::ToString(*nest), HasSubstr("serial for (ij.i, 0, min(4, (15 - (ij.o*4))))"));
  // Every element exactly once, in the original row-major order.
  EXPECT_EQ(Stores(*nest), Stores(*LowerSchedule(def, Schedule(def))));
  EXPECT_EQ(Stores(*nest).size(), 15u);
}

TEST(ScheduleTest, TileSplitsTwoLoopsAndOrdersTheTiles) {
  LoopNestDef def = Scale2d(6, 10);
  Schedule schedule(def);
  ASSERT_TRUE(schedule.Tile("i", "j", 4, 3).ok());
  EXPECT_EQ(schedule.loops(),
            std::vector<std::string>({"i.outer", "j.outer", "i.inner", "j.inner"}));
  absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, schedule);
  ASSERT_TRUE(nest.ok()) << nest.status();
  std::vector<std::pair<std::string, int64_t>> tiled = Stores(*nest);
  std::vector<std::pair<std::string, int64_t>> plain = Stores(*LowerSchedule(def, Schedule(def)));
  ASSERT_EQ(tiled.size(), plain.size());  // partial tiles (6 % 4, 10 % 3) are covered once
  EXPECT_NE(tiled, plain);                // in tile order...
  std::sort(tiled.begin(), tiled.end());
  std::sort(plain.begin(), plain.end());
  EXPECT_EQ(tiled, plain);  // ...the same elements
  // The first tile is rows 0-3 x columns 0-2.
  EXPECT_EQ(Stores(*nest)[3].second, 10);  // row 1, column 0
}

TEST(ScheduleTest, FuseAndTileCheckPreconditionsNamingTheLoop) {
  LoopNestDef def = RowSums(4);
  Schedule schedule(def);
  EXPECT_THAT(std::string(schedule.FuseLoops("i", "k", "ik").message()),
              HasSubstr("fuse: loops 'i' and 'k': one is a reduction"));
  EXPECT_THAT(std::string(schedule.FuseLoops("k", "i", "ki").message()),
              HasSubstr("'k' must be a loop just outside loop 'i'"));
  EXPECT_THAT(std::string(schedule.Tile("k", "i", 2, 2).message()),
              HasSubstr("tile: loop 'k' must be a loop just outside loop 'i'"));
  EXPECT_THAT(std::string(schedule.Tile("i", "k", 0, 2).message()),
              HasSubstr("factor of loop 'i' must be >= 1"));
  EXPECT_EQ(schedule.loops(), std::vector<std::string>({"i", "k"}));  // unchanged

  LoopNestDef grid = Scale2d(4, 4);
  Schedule split_first(grid);
  ASSERT_TRUE(split_first.SplitLoop("j", 2, "j.o", "j.i").ok());
  ASSERT_TRUE(split_first.Reorder({"i", "j.o", "j.i"}).ok());
  EXPECT_THAT(std::string(split_first.FuseLoops("i", "j.o", "x").message()),
              HasSubstr("only axes that are not split yet can be fused"));
  Schedule taken(grid);
  EXPECT_THAT(std::string(taken.FuseLoops("i", "j", "j").message()), HasSubstr("is taken"));
}

TEST(TensorExprTest, ComputeDeclaresTheNestsOfAReductionWithAnEpilogue) {
  te::Tensor a = te::Placeholder("A", {2, 3}), b = te::Placeholder("B", {3, 4});
  te::Tensor c = te::Placeholder("C", {2, 4}), bias = te::Placeholder("bias", {4});
  te::IterVar i = te::Spatial("i", 2), j = te::Spatial("j", 4), k = te::Reduce("k", 3);
  te::ComputeOp op = te::Compute(c, {i, j}, te::Sum(ir::Mul(a({i, k}), b({k, j})), {k}));
  EXPECT_FALSE(op.has_epilogue());
  EXPECT_EQ(op.CacheWriteEpilogue(), nullptr);
  op.Then([&](ir::Expr v) { return ir::Add(v, bias({j})); }).Then([](ir::Expr v) {
    return ir::Max(v, ir::MakeFloat(0));
  });
  EXPECT_EQ(ir::ToString(op.Epilogue(ir::MakeFloat(1))), "max((1f + bias[j]), 0f)");

  LoopNestDef update = op.UpdateDef();
  ASSERT_EQ(update.axes.size(), 3u);
  EXPECT_TRUE(update.axes[2].is_reduction);
  EXPECT_EQ(ir::ToString(update.body),
            "C[((i*4) + j)] = (C[((i*4) + j)] + (A[((i*3) + k)]*B[((k*4) + j)]))\n");
  // The naive nest: zero, accumulate, epilogue; 8 + 24 + 8 stores.
  std::vector<std::pair<std::string, int64_t>> stores = Stores(op.Naive());
  EXPECT_EQ(stores.size(), 40u);
  EXPECT_EQ(stores.back(), std::make_pair(std::string("C"), int64_t{7}));
}

TEST(VectorizeLoopsTest, LoopsThatCannotBeVectorCodeAreUnrolledOrSerial) {
  ir::Expr v = ir::MakeVar("v");
  // A strided store (a register tile written into rows of an NCHW output) is unrolled...
  ir::Stmt scatter =
      ir::MakeFor("v", ir::MakeInt(0), ir::MakeInt(4), ir::ForKind::kVectorized,
                  ir::MakeStore("out", ir::Mul(v, ir::MakeInt(9)), ir::MakeLoad("acc", v)));
  EXPECT_EQ(ir::VectorizeLoops(scatter)->As<ir::For>()->for_kind, ir::ForKind::kUnrolled);
  // ...a long one runs serially...
  ir::Stmt long_scatter =
      ir::MakeFor("v", ir::MakeInt(0), ir::MakeInt(64), ir::ForKind::kVectorized,
                  ir::MakeStore("out", ir::Mul(v, ir::MakeInt(9)), ir::MakeLoad("acc", v)));
  EXPECT_EQ(ir::VectorizeLoops(long_scatter)->As<ir::For>()->for_kind, ir::ForKind::kSerial);
  // ...and a contiguous store with a broadcast and a strided load stays vector code.
  ir::Stmt fine = ir::MakeFor("v", ir::MakeInt(0), ir::MakeInt(16), ir::ForKind::kVectorized,
                              ir::MakeStore("out", v,
                                            ir::Mul(ir::MakeLoad("w", ir::Mul(v, ir::MakeInt(3))),
                                                    ir::MakeLoad("x", ir::MakeInt(0)))));
  EXPECT_EQ(ir::VectorizeLoops(fine)->As<ir::For>()->for_kind, ir::ForKind::kVectorized);
  EXPECT_EQ(ir::LaneStride(ir::Add(ir::Mul(v, ir::MakeInt(3)), ir::MakeInt(2)), "v"), 3);
  EXPECT_EQ(ir::LaneStride(ir::Div(v, ir::MakeInt(3)), "v"), std::nullopt);
}

}  // namespace
}  // namespace fleettune::codegen
