#include "tests/bench/conv_shape.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fleettune::bench {

double ConvShape::Flops() const {
  return 2.0 * n * k * oh() * ow() * static_cast<double>(c / groups) * r * s;
}

std::string ConvShape::WorkloadString() const {
  return absl::StrCat("conv2d:n=", n, ",c=", c, ",h=", h, ",w=", w, ",k=", k, ",r=", r, ",s=", s,
                      ",stride=", stride, ",pad=", pad);
}

std::string ConvShape::Label() const {
  return absl::StrCat("conv c", c, " ", h, "x", w, " k", k, " ", r, "x", s, " s", stride);
}

absl::StatusOr<ConvShape> ParseConvShape(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, ',');
  if (parts.size() != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("conv shape '", text, "': want 8 values c,h,w,k,r,s,stride,pad"));
  }
  int64_t v[8];
  for (int i = 0; i < 8; ++i) {
    const int64_t lowest = i == 7 ? 0 : 1;  // pad may be 0, everything else must be >= 1
    if (!absl::SimpleAtoi(parts[i], &v[i]) || v[i] < lowest || v[i] > (1 << 20)) {
      return absl::InvalidArgumentError(
          absl::StrCat("conv shape '", text, "': bad value '", parts[i], "' at position ", i + 1));
    }
  }
  ConvShape shape{1, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
  if (shape.h + 2 * shape.pad < shape.r || shape.w + 2 * shape.pad < shape.s) {
    return absl::InvalidArgumentError(
        absl::StrCat("conv shape '", text, "': kernel larger than the padded input"));
  }
  return shape;
}

}  // namespace fleettune::bench
