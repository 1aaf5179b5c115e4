// Comparing a caller's access token with the tracker's, without a timing side channel.
#ifndef FLEETTUNE_TRACKER_TOKEN_COMPARE_H_
#define FLEETTUNE_TRACKER_TOKEN_COMPARE_H_

#include <string_view>

namespace fleettune::tracker {

// Whether `presented` (from the network) equals `expected` (the tracker's secret). Both are
// hashed with SHA-256 and the digests compared with OpenSSL's CRYPTO_memcmp, so the time taken
// tells a caller neither where its guess first differs nor, beyond hashing its own bytes,
// anything about the secret's length. Thread-safe.
bool TokensEqual(std::string_view presented, std::string_view expected);

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_TOKEN_COMPARE_H_
