#include "tuner/sha256.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"

namespace fleettune::tuner {

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(std::string(reinterpret_cast<const char*>(digest), length));
}

}  // namespace fleettune::tuner
