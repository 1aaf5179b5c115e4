// Simple-op kernels (codegen/simple_op.h) against plain C++ loops compiled into this binary,
// single-threaded, on shapes from ResNet-50 / MobileNet-V2: the fixed schedules must not be
// much slower than the obvious loop. Prints medians and the ratio; exits 1 when an output
// differs from the loop's. `--quick`: tiny shapes (the ctest smoke run).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codegen/simple_op.h"
#include "rpc_server/kernel_library.h"
#include "tests/bench/bench_util.h"

namespace fleettune::bench {
namespace {

using codegen::SimpleOp;

struct Case {
  std::string name;
  SimpleOp op;
  // The plain loop: inputs, output.
  std::function<void(const std::vector<AlignedBuffer>&, float*)> plain;
};

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SimpleOp Op(std::string type, std::vector<std::vector<int64_t>> inputs,
            std::vector<int64_t> output) {
  SimpleOp op;
  op.type = std::move(type);
  for (auto& shape : inputs) op.inputs.push_back({true, std::move(shape)});
  op.output = std::move(output);
  return op;
}

// 2-D pooling, k x k, stride s, symmetric pad p, the obvious way (a test per tap).
Case Pool(bool max, int64_t c, int64_t h, int64_t k, int64_t s, int64_t p) {
  const int64_t oh = (h + 2 * p - k) / s + 1;
  SimpleOp op = Op(max ? "MaxPool" : "AveragePool", {{1, c, h, h}}, {1, c, oh, oh});
  op.int_attrs = {{"kernel_shape", {k, k}}, {"strides", {s, s}}, {"pads", {p, p, p, p}}};
  auto plain = [=](const std::vector<AlignedBuffer>& in, float* out) {
    const float* x = in[0].data();
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t xo = 0; xo < oh; ++xo) {
          float acc = max ? -INFINITY : 0;
          int count = 0;
          for (int64_t ky = 0; ky < k; ++ky) {
            for (int64_t kx = 0; kx < k; ++kx) {
              int64_t iy = y * s - p + ky, ix = xo * s - p + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= h) continue;
              float v = x[(ch * h + iy) * h + ix];
              acc = max ? std::max(acc, v) : acc + v;
              ++count;
            }
          }
          out[(ch * oh + y) * oh + xo] = max ? acc : acc / count;
        }
      }
    }
  };
  return {std::string(max ? "MaxPool " : "AveragePool ") + std::to_string(k) + "x" +
              std::to_string(k) + "/" + std::to_string(s) + " [1," + std::to_string(c) + "," +
              std::to_string(h) + "," + std::to_string(h) + "]",
          op, plain};
}

std::vector<Case> Cases(bool quick) {
  const int64_t scale = quick ? 8 : 1;
  std::vector<Case> cases;
  cases.push_back(Pool(true, 64 / scale, 112 / scale, 3, 2, 1));
  cases.push_back(Pool(false, 256 / scale, 28, 3, 1, 1));
  {
    const int64_t c = 2048 / scale, hw = 49;
    Case g{"GlobalAveragePool [1," + std::to_string(c) + ",7,7]",
           Op("GlobalAveragePool", {{1, c, 7, 7}}, {1, c, 1, 1}),
           [=](const std::vector<AlignedBuffer>& in, float* out) {
             for (int64_t ch = 0; ch < c; ++ch) {
               float sum = 0;
               for (int64_t i = 0; i < hw; ++i) sum += in[0].data()[ch * hw + i];
               out[ch] = sum / hw;
             }
           }};
    cases.push_back(g);
  }
  {
    const int64_t c = 256 / scale, hw = 56 * 56;
    cases.push_back({"Add [1," + std::to_string(c) + ",56,56] + [" + std::to_string(c) + ",1,1]",
                     Op("Add", {{1, c, 56, 56}, {c, 1, 1}}, {1, c, 56, 56}),
                     [=](const std::vector<AlignedBuffer>& in, float* out) {
                       for (int64_t ch = 0; ch < c; ++ch) {
                         for (int64_t i = 0; i < hw; ++i) {
                           out[ch * hw + i] = in[0].data()[ch * hw + i] + in[1].data()[ch];
                         }
                       }
                     }});
    cases.push_back({"Relu [1," + std::to_string(c) + ",56,56]",
                     Op("Relu", {{1, c, 56, 56}}, {1, c, 56, 56}),
                     [=](const std::vector<AlignedBuffer>& in, float* out) {
                       for (int64_t i = 0; i < c * hw; ++i) out[i] = std::max(in[0].data()[i], 0.0f);
                     }});
  }
  {
    const int64_t rows = 64 / scale, n = 1000;
    SimpleOp softmax = Op("Softmax", {{rows, n}}, {rows, n});
    softmax.int_attrs["axis"] = {1};
    cases.push_back({"Softmax [" + std::to_string(rows) + ",1000]", softmax,
                     [=](const std::vector<AlignedBuffer>& in, float* out) {
                       for (int64_t r = 0; r < rows; ++r) {
                         const float* x = in[0].data() + r * n;
                         float* y = out + r * n;
                         float max = -INFINITY, sum = 0;
                         for (int64_t i = 0; i < n; ++i) max = std::max(max, x[i]);
                         for (int64_t i = 0; i < n; ++i) sum += (y[i] = std::exp(x[i] - max));
                         for (int64_t i = 0; i < n; ++i) y[i] /= sum;
                       }
                     }});
  }
  {
    const int64_t c = 128 / scale, hw = 28 * 28;
    SimpleOp concat = Op("Concat", {{1, c, 28, 28}, {1, c, 28, 28}}, {1, 2 * c, 28, 28});
    concat.int_attrs["axis"] = {1};
    cases.push_back({"Concat 2x[1," + std::to_string(c) + ",28,28]", concat,
                     [=](const std::vector<AlignedBuffer>& in, float* out) {
                       std::memcpy(out, in[0].data(), c * hw * sizeof(float));
                       std::memcpy(out + c * hw, in[1].data(), c * hw * sizeof(float));
                     }});
  }
  return cases;
}

int Main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse("host -threads=1");
  if (!target.ok()) return 1;
  TimingOptions timing;
  if (quick) timing = {0.001, 1, 0};
  bool all_ok = true;
  std::vector<double> ratios;
  std::printf("%-44s %12s %12s %8s\n", "op (1 thread)", "simple op ms", "plain C++ ms", "ratio");
  for (const Case& c : Cases(quick)) {
    absl::StatusOr<codegen::BuiltKernel> kernel = codegen::BuildSimpleOp(c.op, *target);
    if (!kernel.ok()) {
      std::printf("%s: %s\n", c.name.c_str(), std::string(kernel.status().message()).c_str());
      return 1;
    }
    auto library = rpc_server::KernelLibrary::Load(kernel->shared_object, kernel->symbol);
    if (!library.ok()) return 1;
    std::vector<AlignedBuffer> inputs;
    for (const auto& input : c.op.inputs) {
      inputs.emplace_back(Elements(input.shape));
      inputs.back().FillRandom(inputs.size());
    }
    AlignedBuffer got(Elements(c.op.output)), want(Elements(c.op.output));
    got.FillNan();
    std::vector<void*> args;
    for (const AlignedBuffer& b : inputs) args.push_back(b.data());
    args.push_back(got.data());
    rpc_server::KernelFunction fn = (*library)->function();
    std::vector<Contestant> contestants = {{"simple op", [&] { fn(args.data()); }},
                                           {"plain", [&] { c.plain(inputs, want.data()); }}};
    TimeInterleaved(&contestants, timing, quick ? 0 : 0.05);
    const double error = MaxRelativeError(got.data(), want.data(), got.size());
    const bool ok = error <= 1e-5;
    all_ok &= ok;
    ratios.push_back(contestants[0].seconds / contestants[1].seconds);
    std::printf("%-44s %12.4f %12.4f %8.2f%s\n", c.name.c_str(), contestants[0].seconds * 1e3,
                contestants[1].seconds * 1e3, ratios.back(), ok ? "" : "  OUTPUT DIFFERS");
  }
  std::printf("geomean ratio (simple op / plain C++): %.2f\n", GeoMean(ratios));
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace fleettune::bench

int main(int argc, char** argv) { return fleettune::bench::Main(argc, argv); }
