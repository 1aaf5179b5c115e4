// Pooling simple ops against a naive reference that tests every tap of every window.
#include <algorithm>
#include <cmath>

#include "codegen/simple_op.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/codegen/simple_op_runner.h"

namespace fleettune::codegen {
namespace {

using testing::Elements;
using ::testing::HasSubstr;
using testing::RandomInputs;
using testing::RelativeError;
using testing::RunSimpleOp;
using testing::Unflatten;

struct PoolCase {
  std::string type;  // MaxPool, AveragePool
  std::vector<int64_t> input, output;
  std::map<std::string, std::vector<int64_t>> attrs;
  // The padding the reference applies (what auto_pad resolves to), begin then end.
  std::vector<int64_t> pads;
  int opset = 13;
};

std::vector<float> ReferencePool(const PoolCase& c, const std::vector<float>& x) {
  const size_t rank = c.input.size() - 2;
  auto attr = [&](const char* name, int64_t fallback) {
    auto it = c.attrs.find(name);
    return it == c.attrs.end() ? std::vector<int64_t>(rank, fallback) : it->second;
  };
  const std::vector<int64_t> kernel = c.attrs.at("kernel_shape");
  const std::vector<int64_t> strides = attr("strides", 1), dilations = attr("dilations", 1);
  const bool include_pad = attr("count_include_pad", 0)[0] == 1;
  std::vector<float> out(Elements(c.output));
  std::vector<int64_t> taps_shape = kernel;
  for (size_t i = 0; i < out.size(); ++i) {
    std::vector<int64_t> o = Unflatten(i, c.output);
    double acc = c.type == "MaxPool" ? -INFINITY : 0;
    int64_t valid = 0, padded = 0;
    for (int64_t t = 0; t < Elements(kernel); ++t) {
      std::vector<int64_t> k = Unflatten(t, kernel);
      int64_t offset = o[0] * c.input[1] + o[1];
      bool inside = true, inside_padded = true;
      for (size_t d = 0; d < rank; ++d) {
        int64_t p = o[d + 2] * strides[d] - c.pads[d] + k[d] * dilations[d];
        inside &= p >= 0 && p < c.input[d + 2];
        inside_padded &= p >= -c.pads[d] && p < c.input[d + 2] + c.pads[rank + d];
        offset = offset * c.input[d + 2] + p;
      }
      padded += inside_padded;
      if (!inside) continue;
      ++valid;
      acc = c.type == "MaxPool" ? std::max<double>(acc, x[offset]) : acc + x[offset];
    }
    out[i] = c.type == "MaxPool" ? acc : acc / (include_pad ? padded : valid);
  }
  return out;
}

SimpleOp PoolOp(const PoolCase& c) {
  SimpleOp op;
  op.type = c.type;
  op.inputs = {{true, c.input}};
  op.output = c.output;
  op.int_attrs = c.attrs;
  op.opset = c.opset;
  return op;
}

void ExpectPoolMatches(const PoolCase& c, const std::string& target) {
  SimpleOp op = PoolOp(c);
  std::vector<std::vector<float>> inputs = RandomInputs(op, 3);
  absl::StatusOr<std::vector<float>> got = RunSimpleOp(op, inputs, target);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_LE(RelativeError(*got, ReferencePool(c, inputs[0])), 1e-5)
      << c.type << " " << testing::Elements(c.input) << " on " << target;
}

std::vector<PoolCase> Cases(const std::string& type) {
  const bool avg = type == "AveragePool";
  std::vector<PoolCase> cases = {
      // ResNet's stem pool: 3x3, stride 2, pads 1.
      {type,
       {1, 4, 17, 17},
       {1, 4, 9, 9},
       {{"kernel_shape", {3, 3}}, {"strides", {2, 2}}, {"pads", {1, 1, 1, 1}}},
       {1, 1, 1, 1}},
      // Strides 3 and 4 read the input through strided vector loads (one span load and a
      // shuffle); stride 5 through lane-by-lane loads.
      {type,
       {1, 2, 9, 70},
       {1, 2, 3, 23},
       {{"kernel_shape", {3, 3}}, {"strides", {3, 3}}},
       {0, 0, 0, 0}},
      {type,
       {1, 2, 9, 70},
       {1, 2, 2, 18},
       {{"kernel_shape", {2, 2}}, {"strides", {4, 4}}},
       {0, 0, 0, 0}},
      {type,
       {1, 2, 9, 70},
       {1, 2, 2, 14},
       {{"kernel_shape", {1, 1}}, {"strides", {5, 5}}},
       {0, 0, 0, 0}},
      // Asymmetric pads and kernel.
      {type,
       {2, 3, 7, 6},
       {2, 3, 8, 7},
       {{"kernel_shape", {2, 3}}, {"pads", {0, 1, 2, 2}}},
       {0, 1, 2, 2}},
      // ceil_mode: a last, partial window.
      {type,
       {1, 2, 6, 7},
       {1, 2, 3, 3},
       {{"kernel_shape", {3, 3}}, {"strides", {2, 2}}, {"ceil_mode", {1}}},
       {0, 0, 0, 0}},
      // auto_pad SAME_UPPER (total padding 1: after), SAME_LOWER (before), VALID.
      {type,
       {1, 3, 8, 8},
       {1, 3, 4, 4},
       {{"kernel_shape", {3, 3}}, {"strides", {2, 2}}, {"auto_pad", {2}}},
       {0, 0, 1, 1}},
      {type,
       {1, 3, 8, 8},
       {1, 3, 4, 4},
       {{"kernel_shape", {3, 3}}, {"strides", {2, 2}}, {"auto_pad", {3}}},
       {1, 1, 0, 0}},
      {type,
       {1, 3, 8, 9},
       {1, 3, 3, 4},
       {{"kernel_shape", {3, 3}}, {"strides", {2, 2}}, {"auto_pad", {1}}},
       {0, 0, 0, 0}},
      // 1-D and 3-D windows.
      {type,
       {2, 3, 11},
       {2, 3, 6},
       {{"kernel_shape", {3}}, {"strides", {2}}, {"pads", {1, 1}}},
       {1, 1}},
      {type,
       {1, 2, 5, 6, 7},
       {1, 2, 3, 3, 4},
       {{"kernel_shape", {2, 2, 2}}, {"strides", {2, 2, 2}}, {"pads", {0, 0, 1, 1, 0, 0}}},
       {0, 0, 1, 1, 0, 0}},
      // Big enough for the parallel path.
      {type,
       {2, 16, 32, 32},
       {2, 16, 32, 32},
       {{"kernel_shape", {3, 3}}, {"pads", {1, 1, 1, 1}}},
       {1, 1, 1, 1}},
  };
  if (avg) {
    std::vector<PoolCase> with_pad;
    for (PoolCase c : cases) {
      c.attrs["count_include_pad"] = {1};
      with_pad.push_back(c);
    }
    cases.insert(cases.end(), with_pad.begin(), with_pad.end());
  } else {
    // Dilations (MaxPool only before opset 19).
    cases.push_back({type,
                     {1, 2, 9, 9},
                     {1, 2, 4, 3},
                     {{"kernel_shape", {2, 3}},
                      {"dilations", {2, 3}},
                      {"strides", {2, 1}},
                      {"pads", {0, 0, 0, 0}}},
                     {0, 0, 0, 0}});
  }
  return cases;
}

TEST(SimplePoolTest, MaxPoolMatchesReference) {
  for (const PoolCase& c : Cases("MaxPool")) {
    for (const char* target : {"host -threads=1", "host -threads=2"}) ExpectPoolMatches(c, target);
  }
}

TEST(SimplePoolTest, AveragePoolMatchesReference) {
  for (const PoolCase& c : Cases("AveragePool")) {
    for (const char* target : {"host -threads=1", "host -threads=2"}) ExpectPoolMatches(c, target);
  }
}

TEST(SimplePoolTest, AveragePoolDilationsFromOpset19) {
  PoolCase c = {"AveragePool", {1, 2, 9, 9},
                {1, 2, 7, 5},  {{"kernel_shape", {2, 3}}, {"dilations", {2, 2}}},
                {0, 0, 0, 0},  19};
  ExpectPoolMatches(c, "host -threads=1");
  c.opset = 13;
  EXPECT_THAT(CheckSimpleOp(PoolOp(c)).message(),
              HasSubstr("AveragePool: unsupported dilations 2,2 (only 1)"));
}

TEST(SimplePoolTest, BadWindowsAreRejected) {
  PoolCase c = Cases("MaxPool")[0];
  c.output = {1, 4, 8, 8};
  EXPECT_THAT(CheckSimpleOp(PoolOp(c)).message(),
              HasSubstr("MaxPool: output spatial shape [8,8] is not the window's [9,9]"));
  c = Cases("MaxPool")[0];
  c.attrs["kernel_shape"] = {3};
  EXPECT_THAT(CheckSimpleOp(PoolOp(c)).message(),
              HasSubstr("MaxPool: kernel_shape [3] does not match 2 spatial dims"));
  c = Cases("MaxPool")[0];
  c.attrs["auto_pad"] = {2};
  EXPECT_THAT(CheckSimpleOp(PoolOp(c)).message(),
              HasSubstr("MaxPool: pads given together with auto_pad"));
  c = Cases("AveragePool")[0];
  c.attrs["count_include_pad"] = {2};
  EXPECT_THAT(CheckSimpleOp(PoolOp(c)).message(),
              HasSubstr("AveragePool: unsupported count_include_pad 2"));
  c.attrs.erase("count_include_pad");
  c.attrs["storage_order"] = {0};
  EXPECT_THAT(CheckSimpleOp(PoolOp(c)).message(),
              HasSubstr("AveragePool: unsupported attribute 'storage_order' (0)"));
}

TEST(SimplePoolTest, GlobalPoolsReduceEverySpatialElement) {
  for (const char* type : {"GlobalAveragePool", "GlobalMaxPool"}) {
    for (const std::vector<int64_t>& shape :
         std::vector<std::vector<int64_t>>{{2, 3, 5, 7}, {1, 64, 16, 16}, {3, 5, 11}}) {
      SimpleOp op;
      op.type = type;
      op.inputs = {{true, shape}};
      op.output = shape;
      std::fill(op.output.begin() + 2, op.output.end(), 1);
      std::vector<std::vector<float>> inputs = RandomInputs(op, 5);
      const int64_t rows = shape[0] * shape[1], size = Elements(shape) / rows;
      std::vector<float> want(rows);
      for (int64_t r = 0; r < rows; ++r) {
        double acc = std::string(type) == "GlobalMaxPool" ? -INFINITY : 0;
        for (int64_t s = 0; s < size; ++s) {
          float v = inputs[0][r * size + s];
          acc = std::string(type) == "GlobalMaxPool" ? std::max<double>(acc, v) : acc + v;
        }
        want[r] = std::string(type) == "GlobalMaxPool" ? acc : acc / size;
      }
      for (const char* target : {"host -threads=1", "host -threads=2"}) {
        absl::StatusOr<std::vector<float>> got = RunSimpleOp(op, inputs, target);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_LE(RelativeError(*got, want), 1e-5) << type << " on " << target;
      }
    }
  }
}

}  // namespace
}  // namespace fleettune::codegen
