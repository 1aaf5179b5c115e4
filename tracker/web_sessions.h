// Sessions of the tracker's web page: a browser that signed in with the client token holds a
// random session id in a cookie, never the token itself (docs/web.md).
#ifndef FLEETTUNE_TRACKER_WEB_SESSIONS_H_
#define FLEETTUNE_TRACKER_WEB_SESSIONS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace fleettune::tracker {

// Thread-safe.
class WebSessions {
 public:
  // Sessions last `lifetime_ms`; past `capacity` the oldest goes first.
  WebSessions(int64_t lifetime_ms, size_t capacity)
      : lifetime_ms_(lifetime_ms), capacity_(capacity) {}

  // A new session id (128 random bits from OpenSSL, as 32 hex digits) valid from
  // `now_unix_ms`; Internal when the system has no randomness to give.
  absl::StatusOr<std::string> Start(int64_t now_unix_ms);

  // Whether `id` names a session that has not expired at `now_unix_ms` (expired ones are
  // forgotten). Ids are looked up by their SHA-256, so the map's timing tells nothing.
  bool Valid(const std::string& id, int64_t now_unix_ms);

  // Ends the session `id`, if there is one.
  void End(const std::string& id);

 private:
  const int64_t lifetime_ms_;
  const size_t capacity_;
  absl::Mutex mu_;
  std::map<std::string, int64_t> started_ ABSL_GUARDED_BY(mu_);  // digest of id → start
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_WEB_SESSIONS_H_
