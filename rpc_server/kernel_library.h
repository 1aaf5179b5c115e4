// Loads a built kernel from its shared-object bytes and calls it through the kernel ABI.
#ifndef FLEETTUNE_RPC_SERVER_KERNEL_LIBRARY_H_
#define FLEETTUNE_RPC_SERVER_KERNEL_LIBRARY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fleettune::rpc_server {

using KernelFunction = int32_t (*)(void* const* args);

// A dlopen'ed kernel; unloaded on destruction. Not copyable.
class KernelLibrary {
 public:
  // Loads ELF bytes (through an anonymous memory file) and resolves `symbol`.
  // InvalidArgument when the bytes are not a loadable shared object or lack the symbol.
  static absl::StatusOr<std::unique_ptr<KernelLibrary>> Load(std::string_view elf_bytes,
                                                             const std::string& symbol);
  // Same, from a file on disk (what `fleettune compile` writes).
  static absl::StatusOr<std::unique_ptr<KernelLibrary>> LoadFile(const std::string& path,
                                                                 const std::string& symbol);
  ~KernelLibrary();
  KernelLibrary(const KernelLibrary&) = delete;
  // From this call on, no library of this process is unloaded: destruction keeps it mapped
  // until the process exits. For a disposable process that runs one kernel (the sandbox
  // worker): a thread the kernel left running would otherwise fault on unmapped code between
  // the unload and the worker's reply. Thread-safe.
  static void KeepLoadedUntilExit();
  KernelLibrary& operator=(const KernelLibrary&) = delete;

  KernelFunction function() const { return function_; }

 private:
  KernelLibrary(void* handle, KernelFunction function) : handle_(handle), function_(function) {}
  void* handle_;
  KernelFunction function_;
  // The anonymous memory file the object was loaded from; kept open while it is loaded so
  // its /proc/self/fd path (which the dynamic loader uses as the object's name) stays unique.
  int memory_fd_ = -1;
};

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_KERNEL_LIBRARY_H_
