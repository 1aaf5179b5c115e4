// One benchmark row: a matmul or conv2d shape measured at one thread count. The fleettune
// kernel (tuned in process, and the template default) next to the references measured in
// the same run (OpenBLAS sgemm and oneDNN matmul for matmul; oneDNN convolution for conv2d:
// `convolution_auto` and `convolution_direct` on NCHW, and direct in oneDNN's own blocked
// activation layout), each output checked against a reference. The fastest few candidates
// of the quick search, the default and the references are timed together, round-robin
// (TimeInterleaved), so a busy spell of a shared machine hits them alike.
#ifndef FLEETTUNE_TESTS_BENCH_BENCH_CASES_H_
#define FLEETTUNE_TESTS_BENCH_BENCH_CASES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fleettune/v1/fleettune.pb.h"
#include "tests/bench/conv_shape.h"
#include "tests/bench/tuning.h"

namespace fleettune::bench {

struct CaseOptions {
  int threads = 1;
  v1::Target target;     // `host -threads=<threads>`
  TuneOptions tune;      // trials, seed, build threads, candidate timing
  TimingOptions timing;  // of the reported numbers
  std::string db_path;   // when set, the tuned kernel is the database's best record
};

// GFLOPS of each column; 0 = not measured / not available.
struct CaseRow {
  std::string label;
  double tuned = 0, default_config = 0, openblas = 0, onednn = 0, onednn_direct = 0;
  double onednn_blocked = 0;  // conv2d: oneDNN direct in its own (blocked) activation layout
  bool is_conv = false;
  bool fleettune_available = true;
  std::string tuned_by;            // "search(48)" or "db"
  std::string tuned_config;        // ConfigToString of the tuned kernel
  std::string check;               // short check summary for the table
  std::vector<std::string> notes;  // oneDNN implementations, failures, ...
  double median_build_seconds = 0;
  int checks = 0, checks_failed = 0;

  // The best of the references (OpenBLAS and oneDNN for matmul; oneDNN auto, direct and
  // direct in its blocked layout for conv2d); 0 when none was measured.
  double BestReference() const;
};

CaseRow RunMatmulCase(int64_t m, int64_t n, int64_t k, const CaseOptions& options);
CaseRow RunConvCase(const ConvShape& shape, const CaseOptions& options);

}  // namespace fleettune::bench

#endif  // FLEETTUNE_TESTS_BENCH_BENCH_CASES_H_
