// The general Conv, Gemm and MatMul simple ops against naive references (double sums).
#include <cmath>

#include "codegen/simple_op.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/codegen/simple_op_runner.h"

namespace fleettune::codegen {
namespace {

using testing::BroadcastOffset;
using testing::Elements;
using testing::ExpectSimpleOpMatches;
using ::testing::HasSubstr;
using testing::RandomInputs;
using testing::RelativeError;
using testing::RunSimpleOp;
using testing::Unflatten;

// ---- Gemm ------------------------------------------------------------------------------
struct GemmCase {
  int64_t m, n, k;
  bool trans_a, trans_b;
  std::vector<int64_t> c;  // C's shape; `none` when absent
  bool has_c;
  float alpha, beta;
};

TEST(SimpleLinearTest, GemmMatchesReference) {
  std::vector<GemmCase> cases;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) cases.push_back({5, 7, 3, ta, tb, {5, 7}, true, 0.5f, 2.0f});
  }
  for (std::vector<int64_t> c : std::vector<std::vector<int64_t>>{{}, {1}, {19}, {1, 19}, {9, 1}}) {
    cases.push_back({9, 19, 13, false, true, c, true, 1.0f, -1.5f});
  }
  cases.push_back({9, 19, 13, true, false, {}, false, 2.0f, 1.0f});       // no C
  cases.push_back({64, 128, 64, false, false, {128}, true, 1.0f, 1.0f});  // parallel
  for (const GemmCase& g : cases) {
    SimpleOp op;
    op.type = "Gemm";
    op.inputs = {
        {true, g.trans_a ? std::vector<int64_t>{g.k, g.m} : std::vector<int64_t>{g.m, g.k}},
        {true, g.trans_b ? std::vector<int64_t>{g.n, g.k} : std::vector<int64_t>{g.k, g.n}}};
    if (g.has_c) op.inputs.push_back({true, g.c});
    op.output = {g.m, g.n};
    op.int_attrs = {{"transA", {g.trans_a}}, {"transB", {g.trans_b}}};
    op.float_attrs = {{"alpha", g.alpha}, {"beta", g.beta}};
    std::vector<std::vector<float>> in = RandomInputs(op, 11);
    std::vector<float> want(g.m * g.n);
    for (int64_t i = 0; i < g.m; ++i) {
      for (int64_t j = 0; j < g.n; ++j) {
        double sum = 0;
        for (int64_t k = 0; k < g.k; ++k) {
          sum += double(in[0][g.trans_a ? k * g.m + i : i * g.k + k]) *
                 in[1][g.trans_b ? j * g.k + k : k * g.n + j];
        }
        double c = g.has_c ? in[2][BroadcastOffset({i, j}, g.c)] : 0;
        want[i * g.n + j] = g.alpha * sum + g.beta * c;
      }
    }
    for (const char* target : {"host -threads=1", "host -threads=2"}) {
      ExpectSimpleOpMatches(op, want, in, target);
    }
  }
}

TEST(SimpleLinearTest, GemmShapesAreChecked) {
  SimpleOp op;
  op.type = "Gemm";
  op.inputs = {{true, {3, 4}}, {true, {5, 6}}};
  op.output = {3, 6};
  EXPECT_THAT(CheckSimpleOp(op).message(),
              HasSubstr("Gemm: A [3,4], B [5,6] and output [3,6] do not multiply"));
  op.inputs = {{true, {3, 4}}, {true, {4, 6}}, {true, {3, 5}}};
  EXPECT_THAT(CheckSimpleOp(op).message(), HasSubstr("Gemm: C [3,5] does not broadcast to [3,6]"));
}

// ---- MatMul ----------------------------------------------------------------------------
struct MatMulCase {
  std::vector<int64_t> a, b, out;
};

TEST(SimpleLinearTest, MatMulBroadcastsLikeNumpy) {
  std::vector<MatMulCase> cases = {
      {{3, 4}, {4, 5}, {3, 5}}, {{2, 3, 4}, {4, 5}, {2, 3, 5}},
      {{4}, {4, 5}, {5}},       {{3, 4}, {4}, {3}},
      {{4}, {4}, {}},           {{2, 1, 3, 4}, {5, 4, 6}, {2, 5, 3, 6}},
      {{4}, {2, 4, 3}, {2, 3}}, {{8, 64, 64}, {64, 64}, {8, 64, 64}},
  };
  for (const MatMulCase& c : cases) {
    SimpleOp op;
    op.type = "MatMul";
    op.inputs = {{true, c.a}, {true, c.b}};
    op.output = c.out;
    std::vector<std::vector<float>> in = RandomInputs(op, 13);
    // numpy's rule, spelled out: promote, broadcast the batch, multiply, drop promoted dims.
    std::vector<int64_t> a = c.a, b = c.b;
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    const size_t rank = std::max(a.size(), b.size());
    a.insert(a.begin(), rank - a.size(), 1);
    b.insert(b.begin(), rank - b.size(), 1);
    std::vector<int64_t> full(rank);
    for (size_t d = 0; d + 2 < rank; ++d) full[d] = std::max(a[d], b[d]);
    full[rank - 2] = a[rank - 2];
    full[rank - 1] = b[rank - 1];
    const int64_t k_extent = a[rank - 1];
    std::vector<float> want(Elements(full));
    for (size_t flat = 0; flat < want.size(); ++flat) {
      std::vector<int64_t> index = Unflatten(flat, full);
      double sum = 0;
      for (int64_t k = 0; k < k_extent; ++k) {
        std::vector<int64_t> ai = index, bi = index;
        ai[rank - 1] = k;
        bi[rank - 2] = k;
        bi[rank - 1] = index[rank - 1];
        // Broadcast batch dims, then the matrix dims as they are.
        int64_t ao = 0, bo = 0;
        for (size_t d = 0; d < rank; ++d) {
          ao = ao * a[d] + (a[d] == 1 ? 0 : ai[d]);
          bo = bo * b[d] + (b[d] == 1 ? 0 : bi[d]);
        }
        sum += double(in[0][ao]) * in[1][bo];
      }
      want[flat] = sum;
    }
    for (const char* target : {"host -threads=1", "host -threads=2"}) {
      ExpectSimpleOpMatches(op, want, in, target);
    }
  }
  SimpleOp bad;
  bad.type = "MatMul";
  bad.inputs = {{true, {2, 3, 4}}, {true, {3, 4, 5}}};
  bad.output = {3, 3, 5};
  EXPECT_THAT(CheckSimpleOp(bad).message(),
              HasSubstr("MatMul: A [2,3,4], B [3,4,5] and output [3,3,5] do not multiply"));
}

// ---- Conv ------------------------------------------------------------------------------
struct ConvCase {
  std::vector<int64_t> x, w, out;
  std::map<std::string, std::vector<int64_t>> attrs;
  std::vector<int64_t> pads;  // what the reference pads, begin then end
  bool bias = true;
};

std::vector<float> ReferenceConv(const ConvCase& c, const std::vector<std::vector<float>>& in) {
  const size_t rank = c.x.size() - 2;
  auto attr = [&](const char* name) {
    auto it = c.attrs.find(name);
    return it == c.attrs.end() ? std::vector<int64_t>(rank, 1) : it->second;
  };
  const std::vector<int64_t> strides = attr("strides"), dilations = attr("dilations");
  const int64_t group = c.attrs.count("group") ? c.attrs.at("group")[0] : 1;
  const std::vector<int64_t> kernel(c.w.begin() + 2, c.w.end());
  const int64_t group_filters = c.w[0] / group;
  std::vector<float> out(Elements(c.out));
  for (size_t i = 0; i < out.size(); ++i) {
    std::vector<int64_t> o = Unflatten(i, c.out);
    const int64_t n = o[0], m = o[1], g = m / group_filters;
    double sum = c.bias ? in[2][m] : 0;
    for (int64_t ic = 0; ic < c.w[1]; ++ic) {
      for (int64_t t = 0; t < Elements(kernel); ++t) {
        std::vector<int64_t> k = Unflatten(t, kernel);
        int64_t xo = n * c.x[1] + g * c.w[1] + ic, wo = m * c.w[1] + ic;
        bool inside = true;
        for (size_t d = 0; d < rank; ++d) {
          int64_t p = o[d + 2] * strides[d] - c.pads[d] + k[d] * dilations[d];
          inside &= p >= 0 && p < c.x[d + 2];
          xo = xo * c.x[d + 2] + p;
          wo = wo * kernel[d] + k[d];
        }
        if (inside) sum += double(in[0][xo]) * in[1][wo];
      }
    }
    out[i] = sum;
  }
  return out;
}

TEST(SimpleLinearTest, ConvMatchesReference) {
  std::vector<ConvCase> cases = {
      {{1, 3, 8, 8}, {4, 3, 3, 3}, {1, 4, 8, 8}, {{"pads", {1, 1, 1, 1}}}, {1, 1, 1, 1}},
      {{2, 3, 7, 9},
       {5, 3, 2, 3},
       {2, 5, 8, 4},
       {{"pads", {0, 1, 2, 0}}, {"strides", {1, 2}}},
       {0, 1, 2, 0},
       false},
      {{1, 4, 9, 9},
       {6, 2, 3, 3},
       {1, 6, 7, 5},
       {{"group", {2}}, {"dilations", {1, 2}}},
       {0, 0, 0, 0}},
      {{1, 8, 10, 10},
       {8, 1, 3, 3},
       {1, 8, 5, 5},  // depthwise, SAME_UPPER (pads 0 then 1)
       {{"group", {8}}, {"strides", {2, 2}}, {"auto_pad", {2}}},
       {0, 0, 1, 1}},
      {{1, 2, 10, 10},
       {3, 2, 3, 3},
       {1, 3, 5, 5},  // SAME_LOWER (pads 1 then 0)
       {{"strides", {2, 2}}, {"auto_pad", {3}}},
       {1, 1, 0, 0}},
      {{1, 2, 9, 9}, {3, 2, 3, 3}, {1, 3, 7, 7}, {{"auto_pad", {1}}}, {0, 0, 0, 0}},
      {{2, 3, 17}, {4, 3, 5}, {2, 4, 7}, {{"strides", {2}}, {"pads", {1, 0}}}, {1, 0}},  // 1-D
      {{1, 2, 5, 6, 4},
       {3, 2, 2, 3, 2},
       {1, 3, 4, 4, 5},  // 3-D
       {{"pads", {0, 0, 1, 0, 0, 1}}},
       {0, 0, 1, 0, 0, 1}},
      {{1, 16, 28, 28},
       {32, 16, 3, 3},
       {1, 32, 28, 28},
       {{"pads", {1, 1, 1, 1}}},
       {1, 1, 1, 1}},  // parallel
  };
  for (const ConvCase& c : cases) {
    SimpleOp op;
    op.type = "Conv";
    op.inputs = {{true, c.x}, {true, c.w}};
    if (c.bias) op.inputs.push_back({true, {c.w[0]}});
    op.output = c.out;
    op.int_attrs = c.attrs;
    std::vector<std::vector<float>> in = RandomInputs(op, 17);
    std::vector<float> want = ReferenceConv(c, in);
    for (const char* target : {"host -threads=1", "host -threads=2"}) {
      ExpectSimpleOpMatches(op, want, in, target);
    }
  }
}

TEST(SimpleLinearTest, ConvShapesAreChecked) {
  SimpleOp op;
  op.type = "Conv";
  op.inputs = {{true, {1, 4, 8, 8}}, {true, {6, 3, 3, 3}}};
  op.output = {1, 6, 6, 6};
  op.int_attrs["group"] = {2};
  EXPECT_THAT(CheckSimpleOp(op).message(),
              HasSubstr("Conv: group 2 does not fit X [1,4,8,8], W [6,3,3,3]"));
  op.inputs[1].shape = {6, 2, 3, 3};
  op.int_attrs["kernel_shape"] = {2, 2};
  EXPECT_THAT(CheckSimpleOp(op).message(), HasSubstr("Conv: kernel_shape [2,2] is not W's [3,3]"));
  op.int_attrs.erase("kernel_shape");
  op.int_attrs["strides"] = {1, 1, 1};
  EXPECT_THAT(CheckSimpleOp(op).message(),
              HasSubstr("Conv: strides/dilations/pads do not match a 2-d kernel"));
}

}  // namespace
}  // namespace fleettune::codegen
