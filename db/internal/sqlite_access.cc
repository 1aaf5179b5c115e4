#include "db/internal/sqlite_access.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fleettune::db::internal {
namespace {

std::string ReadOnlyFileMessage(const std::string& path, const std::string& why) {
  return absl::StrCat("tuning database '", path, "' is read-only", why,
                      ": commands that write to it (tune, db import, db prune) cannot run; make "
                      "it writable (chmod u+w) or pass another --db");
}

}  // namespace

absl::Status WriteAccess(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::exists(path, error) && access(path.c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(
        ReadOnlyFileMessage(path, absl::StrCat(" (", std::strerror(errno), ")")));
  }
  std::string directory = fs::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  if (access(directory.c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "tuning database '", path, "' cannot be written: its directory '", directory,
        "' is read-only (", std::strerror(errno), "), and SQLite needs to create ", path,
        "-wal and -shm files there; make the directory writable or copy the database to one "
        "that is (reading commands such as history, best and compile still work)"));
  }
  return absl::OkStatus();
}

absl::Status ReadOnlyError(const std::string& path) {
  return absl::PermissionDeniedError(ReadOnlyFileMessage(path, ""));
}

std::string ReadOnlyUri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {  // the characters a URI path cannot hold literally
    if (c == '%' || c == '?' || c == '#') {
      absl::StrAppend(&uri, absl::StrFormat("%%%02x", static_cast<unsigned char>(c)));
    } else {
      uri.push_back(c);
    }
  }
  std::error_code error;
  const uintmax_t wal_size = std::filesystem::file_size(path + "-wal", error);
  const bool wal_has_data = !error && wal_size > 0;
  return absl::StrCat(uri, wal_has_data ? "?mode=ro" : "?mode=ro&immutable=1");
}

}  // namespace fleettune::db::internal
