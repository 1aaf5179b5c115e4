// Parsing an export alone (issue #19): the import's record parser next to a reference
// measured in the same run, for db_bench.
#ifndef FLEETTUNE_TESTS_BENCH_RECORD_PARSE_BENCH_H_
#define FLEETTUNE_TESTS_BENCH_RECORD_PARSE_BENCH_H_

#include <cstdint>
#include <string>

namespace fleettune::db {

// Reads up to `max_lines` record lines of the export `file` into memory, then parses them all
// `repeats` times on this thread, round-robin: with RecordFromJsonLine into recycled Records
// (what Database::Import runs) and with nlohmann::json::parse into a DOM (the reference; no
// Record is filled). Prints records/s and ms per 100,000 records (medians) and the ratio,
// prefixed with `label`. False, after printing why, when a line does not parse.
bool CompareRecordParsers(const std::string& label, const std::string& file, int64_t max_lines,
                          int repeats);

}  // namespace fleettune::db

#endif  // FLEETTUNE_TESTS_BENCH_RECORD_PARSE_BENCH_H_
