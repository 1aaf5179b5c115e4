// matmul benchmark: build time of one candidate, and the GFLOPS of fleettune kernels (the
// template default, and a tuned one from a database when given) next to references measured
// in the same run: OpenBLAS sgemm and the naive loop nest. Medians of repeated runs.
//
//   matmul_bench [--size N] [--threads T] [--db FILE]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "db/database.h"
#include "rpc_server/kernel_library.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Median seconds of one call, over repeats that each last at least 100 ms.
double TimeMedian(const std::function<void()>& run) {
  run();  // warm up caches and lazy binding
  int number = 1;
  for (;;) {
    auto start = Clock::now();
    for (int i = 0; i < number; ++i) run();
    if (Seconds(start) >= 0.1) break;
    number *= 2;
  }
  std::vector<double> repeats;
  for (int r = 0; r < 7; ++r) {
    auto start = Clock::now();
    for (int i = 0; i < number; ++i) run();
    repeats.push_back(Seconds(start) / number);
  }
  return Median(repeats);
}

class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t elements)
      : data_(static_cast<float*>(
            std::aligned_alloc(64, (elements * sizeof(float) + 63) / 64 * 64))) {}
  ~AlignedBuffer() { std::free(data_); }
  float* data() const { return data_; }

 private:
  float* data_;
};

struct Kernel {
  std::unique_ptr<fleettune::rpc_server::KernelLibrary> library;
  double build_seconds = 0;
};

Kernel Build(const fleettune::v1::Workload& workload, const fleettune::v1::Target& target,
             const fleettune::v1::Config* config) {
  auto start = Clock::now();
  auto built = config ? fleettune::codegen::BuildKernel(workload, target, *config)
                      : fleettune::codegen::BuildReference(workload, target);
  Kernel kernel;
  kernel.build_seconds = Seconds(start);
  if (!built.ok()) {
    std::fprintf(stderr, "build failed: %s\n", std::string(built.status().message()).c_str());
    std::exit(1);
  }
  auto library = fleettune::rpc_server::KernelLibrary::Load(built->shared_object, built->symbol);
  if (!library.ok()) {
    std::fprintf(stderr, "load failed: %s\n", std::string(library.status().message()).c_str());
    std::exit(1);
  }
  kernel.library = *std::move(library);
  return kernel;
}

}  // namespace

int main(int argc, char** argv) {
  int size = 512;
  int threads = 1;
  std::string db_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--size")) size = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--db")) db_path = argv[i + 1];
  }
  const std::string workload_text = "matmul:m=" + std::to_string(size) +
                                    ",n=" + std::to_string(size) + ",k=" + std::to_string(size);
  auto workload = fleettune::codegen::ParseWorkload(workload_text);
  auto target = fleettune::codegen::ParseTarget("host -threads=" + std::to_string(threads));
  if (!workload.ok() || !target.ok()) return 2;
  auto space = fleettune::codegen::SearchSpaceFor(*workload, *target);
  if (!space.ok()) return 1;
  const double flops = fleettune::codegen::WorkloadFlops(*workload);
  const size_t n = size;

  // 64-byte aligned like the board runtime's buffers: a 512-bit access that straddles two
  // cache lines costs about twice as much, which would hide the kernels' real speed.
  AlignedBuffer a(n * n), b(n * n), c(n * n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (size_t i = 0; i < n * n; ++i) a.data()[i] = dist(rng);
  for (size_t i = 0; i < n * n; ++i) b.data()[i] = dist(rng);
  void* args[] = {a.data(), b.data(), c.data()};

  std::printf("matmul %zux%zux%zu float32, %d thread(s), target %s\n", n, n, n, threads,
              fleettune::codegen::TargetKey(*target).c_str());

  // Build time of one candidate (lowering + LLVM O3 + in-process link), median of 9.
  std::vector<double> builds;
  for (int i = 0; i < 9; ++i)
    builds.push_back(Build(*workload, *target, &space->DefaultConfig()).build_seconds);
  std::printf("build one candidate: median %.1f ms\n", Median(builds) * 1e3);

  openblas_set_num_threads(threads);
  double blas = TimeMedian([&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, a.data(), size,
                b.data(), size, 0.0f, c.data(), size);
  });
  const double blas_gflops = flops / blas / 1e9;
  auto report = [&](const char* name, double seconds) {
    double gflops = flops / seconds / 1e9;
    std::printf("%-28s %9.2f GFLOPS  %6.3fx OpenBLAS\n", name, gflops, gflops / blas_gflops);
  };
  std::printf("%-28s %9.2f GFLOPS  (reference; OPENBLAS_CORETYPE=%s)\n", "OpenBLAS sgemm",
              blas_gflops,
              std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "unset");

  Kernel naive = Build(*workload, *target, nullptr);
  report("naive loop nest", TimeMedian([&] { naive.library->function()(args); }));
  Kernel fallback = Build(*workload, *target, &space->DefaultConfig());
  report("fleettune template default", TimeMedian([&] { fallback.library->function()(args); }));

  if (!db_path.empty()) {
    auto database = fleettune::db::Database::Open(db_path);
    if (database.ok()) {
      fleettune::db::Query query;
      query.workload_key = fleettune::codegen::WorkloadKey(*workload);
      auto best = (*database)->Best(query, 1);
      if (best.ok() && !best->empty()) {
        Kernel tuned = Build(*workload, *target, &best->front().config);
        report("fleettune tuned (from db)", TimeMedian([&] { tuned.library->function()(args); }));
      }
    }
  }
  return 0;
}
