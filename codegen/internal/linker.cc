#include "codegen/internal/linker.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "lld/Common/CommonLinkerContext.h"
#include "lld/Common/Driver.h"
#include "llvm/Support/raw_ostream.h"

namespace fleettune::codegen {
namespace {

// lld's drivers keep their state in globals: one link at a time per process.
absl::Mutex link_mutex;

bool WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

bool ReadFile(const std::filesystem::path& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// A directory that removes itself and everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fleettune-link-XXXXXX");
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs lld's ELF driver; appends its diagnostics. Thread-safe.
bool RunLld(const std::vector<const char*>& args, std::string* diagnostics) {
  llvm::raw_string_ostream stream(*diagnostics);
  absl::MutexLock lock(&link_mutex);
  bool linked = lld::elf::link(args, stream, stream, /*exitEarly=*/false,
                               /*disableOutput=*/false);
  lld::CommonLinkerContext::destroy();
  stream.flush();
  return linked;
}

}  // namespace

absl::StatusOr<std::string> LinkSharedObject(const LinkRequest& request) {
  TempDir dir;
  if (dir.path().empty()) return absl::InternalError("cannot create a temporary directory");
  std::string object_path = dir.path() / "kernel.o";
  std::string output_path = dir.path() / "kernel.so";
  if (!WriteFile(object_path, request.object)) {
    return absl::InternalError(absl::StrCat("cannot write ", object_path));
  }
  std::vector<std::string> more_paths;
  for (size_t i = 0; i < request.more_objects.size(); ++i) {
    more_paths.push_back(dir.path() / absl::StrCat("object", i, ".o"));
    if (!WriteFile(more_paths.back(), request.more_objects[i])) {
      return absl::InternalError(absl::StrCat("cannot write ", more_paths.back()));
    }
  }
  std::string soname = absl::StrCat("-soname=", request.soname);
  std::vector<const char*> args = {"ld.lld",
                                   "-shared",
                                   "--eh-frame-hdr",
                                   "-z",
                                   "noexecstack",
                                   "-z",
                                   "relro",
                                   "--hash-style=both",
                                   "--build-id",
                                   soname.c_str(),
                                   "-o",
                                   output_path.c_str(),
                                   object_path.c_str()};
  for (const std::string& path : more_paths) args.push_back(path.c_str());
  std::string stub_path = dir.path() / "libgomp.so.1";
  if (request.needs_gomp) {
    args.push_back("--no-as-needed");
    args.push_back(request.gomp_stub_object.empty() ? FLEETTUNE_LIBGOMP_PATH : stub_path.c_str());
  }
  std::string diagnostics;
  if (!request.gomp_stub_object.empty()) {
    std::string stub_object = dir.path() / "gomp_stub.o";
    if (!WriteFile(stub_object, request.gomp_stub_object)) {
      return absl::InternalError(absl::StrCat("cannot write ", stub_object));
    }
    if (!RunLld({"ld.lld", "-shared", "-soname=libgomp.so.1", "-o", stub_path.c_str(),
                 stub_object.c_str()},
                &diagnostics)) {
      return absl::InternalError(absl::StrCat("lld failed on the libgomp stub: ", diagnostics));
    }
  }
  if (!RunLld(args, &diagnostics)) {
    return absl::InternalError(absl::StrCat("lld failed: ", diagnostics));
  }
  std::string shared_object;
  if (!ReadFile(output_path, &shared_object)) {
    return absl::InternalError(absl::StrCat("lld wrote no output: ", diagnostics));
  }
  return shared_object;
}

}  // namespace fleettune::codegen
