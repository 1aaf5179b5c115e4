#include "codegen/internal/schedule.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fleettune::codegen {

Schedule::Schedule(const LoopNestDef& def) : axes_(def.axes) {
  for (const Axis& axis : axes_) loops_.push_back(axis.name);
}

bool Schedule::HasLoop(const std::string& loop) const {
  return std::find(loops_.begin(), loops_.end(), loop) != loops_.end();
}

absl::Status Schedule::SplitLoop(const std::string& loop, int64_t factor, const std::string& outer,
                                 const std::string& inner) {
  auto it = std::find(loops_.begin(), loops_.end(), loop);
  if (it == loops_.end())
    return absl::InvalidArgumentError(absl::StrCat("split: no loop '", loop, "'"));
  if (factor < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("split: factor of loop '", loop, "' must be >= 1, got ", factor));
  }
  if (outer == inner || (outer != loop && HasLoop(outer)) || (inner != loop && HasLoop(inner))) {
    return absl::InvalidArgumentError(
        absl::StrCat("split: loop '", loop, "': names '", outer, "', '", inner, "' are taken"));
  }
  it = loops_.insert(loops_.erase(it), {outer, inner});
  splits_.push_back({loop, factor, outer, inner});
  parent_[outer] = loop;
  parent_[inner] = loop;
  return absl::OkStatus();
}

absl::Status Schedule::FuseLoops(const std::string& outer, const std::string& inner,
                                 const std::string& fused) {
  auto error = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("fuse: loops '", outer, "' and '", inner, "': ", why));
  };
  auto at = std::find(loops_.begin(), loops_.end(), outer);
  if (at == loops_.end() || at + 1 == loops_.end() || *(at + 1) != inner) {
    return error(absl::StrCat("'", outer, "' must be a loop just outside loop '", inner, "'"));
  }
  auto axis_of = [this](const std::string& name) -> const Axis* {
    for (const Axis& axis : axes_) {
      if (axis.name == name) return &axis;
    }
    return nullptr;
  };
  const Axis* a = axis_of(outer);
  const Axis* b = axis_of(inner);
  if (a == nullptr || b == nullptr || parent_.count(outer) || parent_.count(inner)) {
    return error("only axes that are not split yet can be fused (fuse first, then split)");
  }
  if (a->is_reduction != b->is_reduction) return error("one is a reduction, the other is not");
  if (fused.empty() || HasLoop(fused) || axis_of(fused) != nullptr) {
    return error(absl::StrCat("the name '", fused, "' is taken"));
  }
  fuses_.push_back({outer, inner, fused, b->extent});
  Axis merged{fused, a->extent * b->extent, a->is_reduction};
  axes_.push_back(merged);
  loops_.insert(loops_.erase(at, at + 2), fused);
  return absl::OkStatus();
}

absl::Status Schedule::Tile(const std::string& y, const std::string& x, int64_t y_factor,
                            int64_t x_factor) {
  auto at = std::find(loops_.begin(), loops_.end(), y);
  if (at == loops_.end() || at + 1 == loops_.end() || *(at + 1) != x) {
    return absl::InvalidArgumentError(
        absl::StrCat("tile: loop '", y, "' must be a loop just outside loop '", x, "'"));
  }
  Schedule attempt = *this;
  std::vector<absl::Status> steps = {attempt.SplitLoop(y, y_factor, y + ".outer", y + ".inner"),
                                     attempt.SplitLoop(x, x_factor, x + ".outer", x + ".inner")};
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  std::vector<std::string> order = attempt.loops_;
  auto first = std::find(order.begin(), order.end(), y + ".outer");
  std::swap(*(first + 1), *(first + 2));  // y.outer, x.outer, y.inner, x.inner
  if (absl::Status s = attempt.Reorder(order); !s.ok()) return s;
  *this = std::move(attempt);
  return absl::OkStatus();
}

absl::Status Schedule::Reorder(const std::vector<std::string>& order) {
  std::set<std::string> wanted(order.begin(), order.end());
  std::set<std::string> current(loops_.begin(), loops_.end());
  if (wanted != current || order.size() != loops_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("reorder: [", absl::StrJoin(order, ", "),
                                                   "] is not a permutation of [",
                                                   absl::StrJoin(loops_, ", "), "]"));
  }
  loops_ = order;
  return absl::OkStatus();
}

absl::Status Schedule::SetKind(const std::string& loop, ir::ForKind kind) {
  if (!HasLoop(loop)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ir::ForKindName(kind), ": no loop '", loop, "'"));
  }
  kinds_[loop] = kind;
  return absl::OkStatus();
}

ir::ForKind Schedule::KindOf(const std::string& loop) const {
  auto it = kinds_.find(loop);
  return it == kinds_.end() ? ir::ForKind::kSerial : it->second;
}

std::string Schedule::RootAxisOf(const std::string& loop) const {
  std::string current = loop;
  for (auto it = parent_.find(current); it != parent_.end(); it = parent_.find(current)) {
    current = it->second;
  }
  return current;
}

absl::Status Schedule::CacheWrite(const std::string& loop, const std::string& output,
                                  const std::string& local, ir::Expr epilogue,
                                  std::vector<std::string> overcompute_axes) {
  if (!HasLoop(loop)) {
    return absl::InvalidArgumentError(absl::StrCat("cache_write: no loop '", loop, "'"));
  }
  if (cache_write_) {
    return absl::InvalidArgumentError(absl::StrCat("cache_write: loop '", loop, "': output '",
                                                   output, "' is already cached at loop '",
                                                   cache_write_->at, "'"));
  }
  if (output.empty() || local.empty() || output == local) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache_write: loop '", loop, "': bad buffer names"));
  }
  if (epilogue != nullptr && epilogue->type != ir::Type::kFloat) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache_write: loop '", loop, "': the epilogue must be a float expression"));
  }
  cache_write_ =
      CacheWriteSpec{loop, output, local, std::move(epilogue), std::move(overcompute_axes)};
  return absl::OkStatus();
}

absl::Status Schedule::PackInput(PackSpec pack) {
  for (const PackSpec& other : packs_) {
    if (other.buffer == pack.buffer || other.packed == pack.packed) {
      return absl::InvalidArgumentError(
          absl::StrCat("pack: input '", pack.buffer, "' is already packed"));
    }
  }
  if (pack.size < 1 || pack.packed_index == nullptr || pack.pack_nest == nullptr ||
      pack.packed_index->type != ir::Type::kInt) {
    return absl::InvalidArgumentError(
        absl::StrCat("pack: input '", pack.buffer, "': empty layout or packing nest"));
  }
  packs_.push_back(std::move(pack));
  return absl::OkStatus();
}

}  // namespace fleettune::codegen
