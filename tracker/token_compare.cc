#include "tracker/token_compare.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace fleettune::tracker {
namespace {

using Digest = std::array<unsigned char, 32>;

// SHA-256 of `bytes`. Hashing cannot fail for in-memory input with the default provider; a
// failure would leave a zero digest that equals any other failed digest, so it aborts instead.
Digest Sha256(std::string_view bytes) {
  Digest digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size()) {
    std::fprintf(stderr, "fleettune tracker: internal error: SHA-256 of an access token failed\n");
    std::abort();
  }
  return digest;
}

}  // namespace

bool TokensEqual(std::string_view presented, std::string_view expected) {
  const Digest presented_digest = Sha256(presented);
  const Digest expected_digest = Sha256(expected);
  return CRYPTO_memcmp(presented_digest.data(), expected_digest.data(), Digest().size()) == 0;
}

}  // namespace fleettune::tracker
