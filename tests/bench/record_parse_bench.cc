#include "tests/bench/record_parse_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "db/database.h"
#include "db/internal/record_json.h"
#include "util/median.h"
#include "util/seconds_since.h"

namespace fleettune::db {

using util::Median;

bool CompareRecordParsers(const std::string& label, const std::string& file, int64_t max_lines,
                          int repeats) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  std::getline(in, line);  // the header
  while (static_cast<int64_t>(lines.size()) < max_lines && std::getline(in, line)) {
    lines.push_back(line);
  }
  if (lines.empty()) {
    std::fprintf(stderr, "db_bench: %s has no record lines\n", file.c_str());
    return false;
  }
  std::vector<Record> records(256);  // recycled as Import's batches are
  std::vector<double> sax_s, dom_s;
  for (int r = 0; r < repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < lines.size(); ++i) {
      absl::Status status = internal::RecordFromJsonLine(lines[i], &records[i % records.size()]);
      if (!status.ok()) {
        std::fprintf(stderr, "db_bench: line %zu: %s\n", i + 2, status.ToString().c_str());
        return false;
      }
    }
    sax_s.push_back(util::SecondsSince(start));
    start = std::chrono::steady_clock::now();
    for (const std::string& text : lines) {
      const nlohmann::json dom = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!dom.is_object()) {
        std::fprintf(stderr, "db_bench: nlohmann::json::parse failed\n");
        return false;
      }
    }
    dom_s.push_back(util::SecondsSince(start));
  }
  const double n = static_cast<double>(lines.size());
  const double sax = Median(sax_s), dom = Median(dom_s);
  std::printf(
      "%s record parse only (one thread, %zu lines, median of %d): RecordFromJsonLine %.0f "
      "records/s (%.0f ms per 100k); reference nlohmann::json::parse (DOM, no Record) %.0f "
      "records/s (%.0f ms per 100k); time ratio %.2f\n",
      label.c_str(), lines.size(), repeats, n / sax, sax / n * 1e8, n / dom, dom / n * 1e8,
      sax / dom);
  return true;
}

}  // namespace fleettune::db
