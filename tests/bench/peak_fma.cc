#include "tests/bench/peak_fma.h"

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "tests/bench/bench_util.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fleettune::bench {
namespace {

// Each function runs `iterations` rounds of one FMA on each of its independent accumulator
// chains and returns a value that depends on all of them (so nothing is optimised away).
// Enough chains to cover FMA latency (4-5 cycles) times the FMA pipes (2) on current cores.
// Returns the FLOPs done through `flops`.

#if defined(__x86_64__)
constexpr int kAvx512Chains = 16;  // of 32 zmm registers
__attribute__((target("avx512f"))) float ChainsAvx512(int64_t iterations, double* flops) {
  __m512 acc[kAvx512Chains];
  for (int j = 0; j < kAvx512Chains; ++j) acc[j] = _mm512_set1_ps(0.001f * j);
  const __m512 mul = _mm512_set1_ps(0.9999999f);
  const __m512 add = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < kAvx512Chains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], mul, add);
  }
  __m512 sum = acc[0];
  for (int j = 1; j < kAvx512Chains; ++j) sum = _mm512_add_ps(sum, acc[j]);
  *flops = 2.0 * 16 * kAvx512Chains * static_cast<double>(iterations);
  return _mm512_reduce_add_ps(sum);
}

constexpr int kAvx2Chains = 12;  // of 16 ymm registers
__attribute__((target("avx2,fma"))) float ChainsAvx2(int64_t iterations, double* flops) {
  __m256 acc[kAvx2Chains];
  for (int j = 0; j < kAvx2Chains; ++j) acc[j] = _mm256_set1_ps(0.001f * j);
  const __m256 mul = _mm256_set1_ps(0.9999999f);
  const __m256 add = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kAvx2Chains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], mul, add);
  }
  __m256 sum = acc[0];
  for (int j = 1; j < kAvx2Chains; ++j) sum = _mm256_add_ps(sum, acc[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  *flops = 2.0 * 8 * kAvx2Chains * static_cast<double>(iterations);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}
#endif

constexpr int kScalarChains = 8;
float ChainsScalar(int64_t iterations, double* flops) {
  float acc[kScalarChains];
  for (int j = 0; j < kScalarChains; ++j) acc[j] = 0.001f * j;
  for (int64_t i = 0; i < iterations; ++i) {
    for (int j = 0; j < kScalarChains; ++j) acc[j] = acc[j] * 0.9999999f + 1e-7f;
  }
  *flops = 2.0 * kScalarChains * static_cast<double>(iterations);
  float total = 0;
  for (float v : acc) total += v;
  return total;
}

using ChainsFn = float (*)(int64_t, double*);

ChainsFn BestChains() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return ChainsAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ChainsAvx2;
#endif
  return ChainsScalar;
}

volatile float g_sink;  // keeps the chains' results alive

double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

}  // namespace

std::string PeakFmaIsa() {
  ChainsFn fn = BestChains();
#if defined(__x86_64__)
  if (fn == ChainsAvx512) return "avx512f";
  if (fn == ChainsAvx2) return "avx2+fma";
#endif
  return "scalar";
}

double PeakFmaGflops(int threads, double seconds_per_repeat, int repeats) {
  ChainsFn fn = BestChains();
  threads = std::max(threads, 1);
  // Calibrate the iteration count on one thread so a repeat lasts about seconds_per_repeat.
  int64_t iterations = 1 << 16;
  double flops = 0;
  for (;;) {
    double start = NowSeconds();
    g_sink = fn(iterations, &flops);
    double elapsed = NowSeconds() - start;
    if (elapsed >= seconds_per_repeat / 4) {
      iterations = static_cast<int64_t>(iterations * seconds_per_repeat / elapsed);
      break;
    }
    iterations *= 2;
  }
  // Each thread's rate is its FLOPs over its own CPU time, so time the scheduler gives to
  // other processes on a shared machine does not count against the hardware.
  std::vector<double> gflops;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    std::vector<double> rates(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        double flops = 0;
        double start = ThreadCpuSeconds();
        g_sink = fn(iterations, &flops);
        rates[t] = flops / std::max(ThreadCpuSeconds() - start, 1e-9) / 1e9;
      });
    }
    for (auto& thread : pool) thread.join();
    double total = 0;
    for (double rate : rates) total += rate;
    gflops.push_back(total);
  }
  // The best repeat: a peak is what the machine can do, and any other process on the machine
  // (or on an SMT sibling of a virtual CPU) only ever lowers a repeat.
  return *std::max_element(gflops.begin(), gflops.end());
}

}  // namespace fleettune::bench
