#include "codegen/internal/tensor_expr.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "codegen/internal/check.h"
#include "codegen/internal/lower.h"

namespace fleettune::codegen::te {

IterVar Spatial(std::string name, int64_t extent) { return {std::move(name), extent, false}; }
IterVar Reduce(std::string name, int64_t extent) { return {std::move(name), extent, true}; }

Tensor::Tensor(std::string name, std::vector<int64_t> shape)
    : name_(std::move(name)), shape_(std::move(shape)) {
  FLEETTUNE_INTERNAL_CHECK(!shape_.empty(), "a tensor needs at least one dimension");
}

int64_t Tensor::size() const {
  int64_t size = 1;
  for (int64_t extent : shape_) size *= extent;
  return size;
}

ir::Expr Tensor::FlatIndex(const std::vector<ir::Expr>& indices) const {
  FLEETTUNE_INTERNAL_CHECK(indices.size() == shape_.size(),
                           absl::StrCat("tensor '", name_, "' indexed with ", indices.size(),
                                        " indices, has ", shape_.size(), " dimensions")
                               .c_str());
  ir::Expr index = indices.front();
  for (size_t d = 1; d < indices.size(); ++d) {
    index = ir::Add(ir::Mul(index, ir::MakeInt(shape_[d])), indices[d]);
  }
  return index;
}

ir::Expr Tensor::operator()(const std::vector<ir::Expr>& indices) const {
  return ir::MakeLoad(name_, FlatIndex(indices));
}

Tensor Placeholder(std::string name, std::vector<int64_t> shape) {
  return Tensor(std::move(name), std::move(shape));
}

SumExpr Sum(ir::Expr source, std::vector<IterVar> axes) {
  for (const IterVar& axis : axes) {
    FLEETTUNE_INTERNAL_CHECK(axis.is_reduction, "Sum over a spatial axis");
  }
  return {std::move(source), std::move(axes)};
}

ComputeOp::ComputeOp(Tensor output, std::vector<IterVar> axes, SumExpr sum)
    : output_(std::move(output)), axes_(std::move(axes)), sum_(std::move(sum)) {
  FLEETTUNE_INTERNAL_CHECK(axes_.size() == output_.shape().size(),
                           "compute axes do not match the output's dimensions");
  for (size_t d = 0; d < axes_.size(); ++d) {
    FLEETTUNE_INTERNAL_CHECK(!axes_[d].is_reduction && axes_[d].extent == output_.shape()[d],
                             "compute axis does not match the output's shape");
  }
}

ComputeOp& ComputeOp::Then(std::function<ir::Expr(ir::Expr value)> stage) {
  stages_.push_back(std::move(stage));
  return *this;
}

ir::Expr ComputeOp::OutputIndex() const {
  std::vector<ir::Expr> indices(axes_.begin(), axes_.end());
  return output_.FlatIndex(indices);
}

ir::Expr ComputeOp::Epilogue(ir::Expr value) const {
  if (stages_.empty()) return nullptr;
  for (const auto& stage : stages_) value = stage(value);
  return value;
}

ir::Expr ComputeOp::CacheWriteEpilogue() const {
  return Epilogue(ir::MakeLoad(kEpilogueValue, ir::MakeInt(0)));
}

namespace {

std::vector<Axis> Axes(const std::vector<IterVar>& vars) {
  std::vector<Axis> axes;
  for (const IterVar& v : vars) axes.push_back({v.name, v.extent, v.is_reduction});
  return axes;
}

}  // namespace

LoopNestDef ComputeOp::InitDef() const {
  return {Axes(axes_), ir::MakeStore(output_.name(), OutputIndex(), ir::MakeFloat(0))};
}

LoopNestDef ComputeOp::UpdateDef() const {
  std::vector<IterVar> all = axes_;
  all.insert(all.end(), sum_.axes.begin(), sum_.axes.end());
  ir::Expr index = OutputIndex();
  return {Axes(all), ir::MakeStore(output_.name(), index,
                                   ir::Add(ir::MakeLoad(output_.name(), index), sum_.source))};
}

LoopNestDef ComputeOp::EpilogueDef() const {
  FLEETTUNE_INTERNAL_CHECK(has_epilogue(), "EpilogueDef of an op without an epilogue");
  ir::Expr index = OutputIndex();
  return {Axes(axes_),
          ir::MakeStore(output_.name(), index, Epilogue(ir::MakeLoad(output_.name(), index)))};
}

ir::Stmt ComputeOp::Naive() const {
  std::vector<LoopNestDef> defs = {InitDef(), UpdateDef()};
  if (has_epilogue()) defs.push_back(EpilogueDef());
  std::vector<ir::Stmt> stmts;
  for (const LoopNestDef& def : defs) {
    absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, Schedule(def));
    FLEETTUNE_INTERNAL_CHECK(nest.ok(), "an unscheduled compute failed to lower");
    stmts.push_back(*nest);
  }
  return ir::MakeBlock(std::move(stmts));
}

ComputeOp Compute(Tensor output, std::vector<IterVar> axes, SumExpr sum) {
  return ComputeOp(std::move(output), std::move(axes), std::move(sum));
}

}  // namespace fleettune::codegen::te
