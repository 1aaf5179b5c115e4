#include "tracker/web_sessions.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/escaping.h"

namespace fleettune::tracker {
namespace {

std::string Digest(const std::string& id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace

absl::StatusOr<std::string> WebSessions::Start(int64_t now_unix_ms) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("no random bytes for a web session id (OpenSSL RAND_bytes)");
  }
  std::string id = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  absl::MutexLock lock(&mu_);
  if (capacity_ == 0) return id;
  while (started_.size() >= capacity_) {
    auto oldest =
        std::min_element(started_.begin(), started_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    started_.erase(oldest);
  }
  started_[Digest(id)] = now_unix_ms;
  return id;
}

bool WebSessions::Valid(const std::string& id, int64_t now_unix_ms) {
  if (id.empty()) return false;
  const std::string digest = Digest(id);
  absl::MutexLock lock(&mu_);
  auto it = started_.find(digest);
  if (it == started_.end()) return false;
  if (now_unix_ms - it->second > lifetime_ms_) {
    started_.erase(it);
    return false;
  }
  return true;
}

void WebSessions::End(const std::string& id) {
  const std::string digest = Digest(id);
  absl::MutexLock lock(&mu_);
  started_.erase(digest);
}

}  // namespace fleettune::tracker
