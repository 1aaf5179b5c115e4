// In-process linking of relocatable objects into an ELF shared object with lld.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_LINKER_H_
#define FLEETTUNE_CODEGEN_INTERNAL_LINKER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fleettune::codegen {

struct LinkRequest {
  std::string object;  // ELF relocatable object bytes
  // More relocatable objects linked after `object` (a network's layers).
  std::vector<std::string> more_objects;
  std::string soname;
  bool needs_gomp = false;  // add DT_NEEDED libgomp.so.1
  // When set (another architecture than the host's), linked first as a stand-in
  // libgomp.so.1 to link against; otherwise the host's libgomp is used.
  std::string gomp_stub_object;
};

// Links the objects with `ld.lld -shared` through lld's library entry point, in a private
// temporary directory that is removed afterwards. lld 14 keeps global state, so links are
// serialised by a process-wide mutex; callers may call this from any thread. Internal error
// with lld's diagnostics on failure.
absl::StatusOr<std::string> LinkSharedObject(const LinkRequest& request);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_LINKER_H_
