// The machine's measured peak FP32 FMA throughput: many independent chains of fused
// multiply-adds in the widest vector ISA this CPU has (AVX-512, else AVX2+FMA, else scalar),
// on one core and on several at once. The functions are compiled per ISA with target
// attributes, so the binary runs on any x86-64 CPU (and falls back to scalar elsewhere).
#ifndef FLEETTUNE_TESTS_BENCH_PEAK_FMA_H_
#define FLEETTUNE_TESTS_BENCH_PEAK_FMA_H_

#include <string>

namespace fleettune::bench {

// "avx512f", "avx2+fma" or "scalar": the ISA PeakFmaGflops uses on this CPU.
std::string PeakFmaIsa();

// GFLOPS (an FMA counts as 2) of `threads` threads each running the FMA chains at once: the
// sum of the threads' rates, each over its own CPU time (so other processes on a shared
// machine do not lower it), best of `repeats` runs of about `seconds_per_repeat` each.
double PeakFmaGflops(int threads, double seconds_per_repeat = 0.1, int repeats = 7);

}  // namespace fleettune::bench

#endif  // FLEETTUNE_TESTS_BENCH_PEAK_FMA_H_
