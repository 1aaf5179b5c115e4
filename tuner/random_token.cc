#include "tuner/random_token.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace fleettune::tuner {

int SystemRandomBytes(unsigned char* buffer, int length) { return RAND_bytes(buffer, length); }

absl::StatusOr<std::string> RandomToken(RandomBytesFunction random_bytes) {
  ERR_clear_error();  // so that an error named below is this call's
  unsigned char bytes[kRandomTokenBytes] = {};
  if (random_bytes(bytes, kRandomTokenBytes) != 1) {
    std::string message = "the random generator failed";
    if (unsigned long error = ERR_get_error(); error != 0) {  // OpenSSL's reason, when it gave one
      char text[256];
      ERR_error_string_n(error, text, sizeof(text));
      absl::StrAppend(&message, " (OpenSSL ", text, ")");
    }
    return absl::InternalError(message);
  }
  return absl::BytesToHexString(std::string(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

}  // namespace fleettune::tuner
