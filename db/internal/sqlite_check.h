// Whether a SQLite file is whole, checked when a tuning database is opened, before anything
// reads or writes it: a damaged file is refused (nothing appended to it) with the way to
// recover, rather than failing later with "database disk image is malformed".
//
// Two checks: the file's size is a whole number of its pages (a file cut short by less than
// a page reads as zeros there, which SQLite's own checks may not notice), and PRAGMA
// quick_check (every B-tree page of every table and index: page headers, cell bounds, key
// order, record formats) for at most kQuickCheckBudget; a larger file is checked as far as
// the budget reaches (docs/database.md has the figures).
#ifndef FLEETTUNE_DB_INTERNAL_SQLITE_CHECK_H_
#define FLEETTUNE_DB_INTERNAL_SQLITE_CHECK_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fleettune::db::internal {

// How long an open spends on PRAGMA quick_check at most.
inline constexpr absl::Duration kQuickCheckBudget = absl::Milliseconds(300);

// The error for a damaged database: FailedPrecondition, "tuning database '<path>' is damaged:
// <problem>; ...", saying that it was left untouched and how to recover what is readable.
absl::Status DamagedError(absl::string_view path, absl::string_view problem);

// OK when a file of `size` bytes that starts with the 100-byte SQLite header `header` is a
// whole number of the page size that header names; DamagedError otherwise. Reads nothing.
absl::Status CheckWholePages(absl::string_view path, const unsigned char (&header)[100],
                             uint64_t size);

struct QuickCheckResult {
  bool complete = false;  // the whole file was checked within the budget
  std::string problem;    // the first problem found; empty when none
};

// Runs PRAGMA quick_check on `db` (in one read transaction: a consistent view while other
// connections write) and stops it with sqlite3_interrupt once `budget` has passed; what an
// interrupted check found is not reported (it did not finish). A file SQLite cannot read at
// all (SQLITE_CORRUPT, SQLITE_NOTADB) is a problem found. Errors other than damage, such as
// a lock held past the busy timeout, are returned as errors.
absl::StatusOr<QuickCheckResult> QuickCheck(sqlite3* db, absl::string_view path,
                                            absl::Duration budget);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SQLITE_CHECK_H_
