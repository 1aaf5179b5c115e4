#include "rpc_server/kernel_library.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace fleettune::rpc_server {
namespace {

absl::Status WriteAll(int fd, std::string_view bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(
          absl::StrCat("writing the kernel to a memory file: ", std::strerror(errno)));
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Parallel kernels call libgomp, which keeps a pool of worker threads alive between calls. If
// unloading the last kernel that used it also unloaded libgomp, those threads would run
// unmapped code. So libgomp, when the board has it, is loaded once and never unloaded.
void PinOpenMpRuntime() {
  static const bool pinned = [] {
    return dlopen("libgomp.so.1", RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE) != nullptr;
  }();
  (void)pinned;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KernelLibrary>> KernelLibrary::Load(std::string_view elf_bytes,
                                                                   const std::string& symbol) {
  if (elf_bytes.empty()) return absl::InvalidArgumentError("shared object is empty");
  if (symbol.empty()) return absl::InvalidArgumentError("kernel symbol name is empty");
  PinOpenMpRuntime();
  const int fd = memfd_create("fleettune-kernel", MFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  }
  if (absl::Status written = WriteAll(fd, elf_bytes); !written.ok()) {
    close(fd);
    return written;
  }
  const std::string path = absl::StrCat("/proc/self/fd/", fd);
  dlerror();  // clear any stale error
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("not a loadable shared object: ", error != nullptr ? error : "unknown"));
  }
  dlerror();
  void* address = dlsym(handle, symbol.c_str());
  if (address == nullptr) {
    // dlerror's text lives only until the next dl call: copy it before dlclose.
    const char* text = dlerror();
    const std::string error = text != nullptr ? text : "null";
    dlclose(handle);
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("shared object has no symbol \"", symbol, "\": ", error));
  }
  std::unique_ptr<KernelLibrary> library(
      new KernelLibrary(handle, reinterpret_cast<KernelFunction>(address)));
  library->memory_fd_ = fd;
  return library;
}

absl::StatusOr<std::unique_ptr<KernelLibrary>> KernelLibrary::LoadFile(const std::string& path,
                                                                       const std::string& symbol) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (!file.good() && !file.eof()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  absl::StatusOr<std::unique_ptr<KernelLibrary>> library = Load(bytes.str(), symbol);
  if (!library.ok()) {
    return absl::Status(library.status().code(),
                        absl::StrCat(path, ": ", library.status().message()));
  }
  return library;
}

namespace {
std::atomic<bool> keep_loaded_until_exit{false};
}  // namespace

void KernelLibrary::KeepLoadedUntilExit() { keep_loaded_until_exit = true; }

KernelLibrary::~KernelLibrary() {
  // A kept library keeps its memory file open too: dlopen knows a loaded object by its path
  // (/proc/self/fd/N), so a reused descriptor number would hand the next Load this library.
  if (keep_loaded_until_exit) return;
  if (handle_ != nullptr) dlclose(handle_);
  if (memory_fd_ >= 0) close(memory_fd_);
}

}  // namespace fleettune::rpc_server
