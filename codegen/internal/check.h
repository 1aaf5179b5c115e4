// Compiler-bug assertions for codegen internals. User mistakes never reach these: they are
// reported as absl::Status before lowering starts.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CHECK_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FLEETTUNE_INTERNAL_CHECK(condition, message)                                       \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      std::fprintf(stderr, "%s:%d: internal codegen error: %s (%s)\n", __FILE__, __LINE__, \
                   message, #condition);                                                   \
      std::abort();                                                                        \
    }                                                                                      \
  } while (false)

#endif  // FLEETTUNE_CODEGEN_INTERNAL_CHECK_H_
