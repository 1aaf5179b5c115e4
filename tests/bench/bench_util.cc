#include "tests/bench/bench_util.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <thread>
#include <utility>

namespace fleettune::bench {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double TimeMedian(const std::function<void()>& run, const TimingOptions& options) {
  double start = NowSeconds();
  run();  // warm up caches, lazy binding and thread pools
  double warm_up = NowSeconds() - start;
  if (options.give_up_seconds > 0 && warm_up > options.give_up_seconds) return warm_up;
  // Start near the right call count instead of doubling from 1.
  int number = 1;
  if (warm_up > 0) {
    number = std::max(1, static_cast<int>(options.min_repeat_seconds / warm_up / 2));
  }
  std::vector<double> repeats;
  for (;;) {
    start = NowSeconds();
    for (int i = 0; i < number; ++i) run();
    double elapsed = NowSeconds() - start;
    if (elapsed >= options.min_repeat_seconds) {
      repeats.push_back(elapsed / number);
      break;
    }
    number *= 2;
  }
  while (static_cast<int>(repeats.size()) < options.repeats) {
    start = NowSeconds();
    for (int i = 0; i < number; ++i) run();
    repeats.push_back((NowSeconds() - start) / number);
  }
  return Median(repeats);
}

void TimeInterleaved(std::vector<Contestant>* contestants, const TimingOptions& options,
                     double settle_seconds) {
  double pause = settle_seconds;  // owed by the contestant that ran last
  auto settle = [&](const Contestant& next) {
    if (pause > 0) std::this_thread::sleep_for(std::chrono::duration<double>(pause));
    pause = std::max(settle_seconds, next.settle_after);
  };
  // Calibrate each contestant's calls per repeat (the first repeat counts).
  std::vector<int> numbers;
  std::vector<std::vector<double>> repeats(contestants->size());
  for (size_t c = 0; c < contestants->size(); ++c) {
    const auto& run = (*contestants)[c].run;
    settle((*contestants)[c]);
    double start = NowSeconds();
    run();  // warm up
    double warm_up = NowSeconds() - start;
    int number =
        std::max(1, static_cast<int>(options.min_repeat_seconds / std::max(warm_up, 1e-9) / 2));
    for (;;) {
      start = NowSeconds();
      for (int i = 0; i < number; ++i) run();
      double elapsed = NowSeconds() - start;
      if (elapsed >= options.min_repeat_seconds) {
        repeats[c].push_back(elapsed / number);
        break;
      }
      number *= 2;
    }
    numbers.push_back(number);
  }
  for (int r = 1; r < options.repeats; ++r) {
    for (size_t c = 0; c < contestants->size(); ++c) {
      const auto& run = (*contestants)[c].run;
      settle((*contestants)[c]);
      double start = NowSeconds();
      for (int i = 0; i < numbers[c]; ++i) run();
      repeats[c].push_back((NowSeconds() - start) / numbers[c]);
    }
  }
  for (size_t c = 0; c < contestants->size(); ++c) {
    (*contestants)[c].seconds = Median(repeats[c]);
  }
}

AlignedBuffer::AlignedBuffer(size_t elements)
    : data_(static_cast<float*>(
          std::aligned_alloc(64, std::max<size_t>(64, (elements * sizeof(float) + 63) / 64 * 64)))),
      size_(elements) {
  if (data_ == nullptr) {
    std::fprintf(stderr, "bench: out of memory allocating %zu floats\n", elements);
    std::exit(1);
  }
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void AlignedBuffer::FillRandom(unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (size_t i = 0; i < size_; ++i) data_[i] = dist(rng);
}

void AlignedBuffer::FillNan() {
  std::fill(data_, data_ + size_, std::numeric_limits<float>::quiet_NaN());
}

double MaxRelativeError(const float* got, const float* want, size_t n) {
  double scale = 0, error = 0;
  for (size_t i = 0; i < n; ++i) {
    double g = got[i], w = want[i];
    if (std::isnan(g) || std::isnan(w)) return std::numeric_limits<double>::infinity();
    scale = std::max(scale, std::fabs(w));
    error = std::max(error, std::fabs(g - w));
  }
  return error / std::max(scale, 1e-30);
}

double GeoMean(const std::vector<double>& values) {
  double log_sum = 0;
  int count = 0;
  for (double v : values) {
    if (v > 0) {
      log_sum += std::log(v);
      ++count;
    }
  }
  return count ? std::exp(log_sum / count) : 0;
}

std::string FormatGflops(double gflops) {
  if (!(gflops > 0)) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), gflops >= 10 ? "%.1f" : gflops >= 1 ? "%.2f" : "%.3f", gflops);
  return text;
}

std::string FormatRatio(double numerator, double denominator) {
  if (!(numerator > 0) || !(denominator > 0)) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", numerator / denominator);
  return text;
}

void Table::Print() const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < row.size() ? row[i] : "";
      // First column left-aligned (names), the rest right-aligned (numbers).
      if (i == 0) {
        line += cell + std::string(widths[i] - cell.size(), ' ');
      } else {
        line += " | " + std::string(widths[i] - cell.size(), ' ') + cell;
      }
    }
    std::printf("%s\n", line.c_str());
  };
  print(header_);
  size_t total = 0;
  for (size_t w : widths) total += w;
  std::printf("%s\n", std::string(total + 3 * (widths.size() - 1), '-').c_str());
  for (const auto& row : rows_) {
    // A row with a single cell is a note spanning the table (e.g. "not available").
    if (row.size() == 1) {
      std::printf("%s\n", row[0].c_str());
    } else {
      print(row);
    }
  }
}

}  // namespace fleettune::bench
