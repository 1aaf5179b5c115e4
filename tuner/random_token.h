// Random access tokens: the secrets the embedded fleet's tracker takes from its boards and its
// tuner, so that other users of the machine can neither pose as a board nor submit code.
#ifndef FLEETTUNE_TUNER_RANDOM_TOKEN_H_
#define FLEETTUNE_TUNER_RANDOM_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"

namespace fleettune::tuner {

// Fills `buffer` with `length` cryptographically strong random bytes and returns 1, or returns
// anything else when it cannot (the contract of OpenSSL's RAND_bytes).
using RandomBytesFunction = int (*)(unsigned char* buffer, int length);

// OpenSSL's RAND_bytes: the operating system's generator, through OpenSSL's DRBG.
int SystemRandomBytes(unsigned char* buffer, int length);

// The number of random bytes in a token; its text is twice as many hex digits.
inline constexpr int kRandomTokenBytes = 32;

// kRandomTokenBytes bytes from `random_bytes`, as lowercase hex. Internal, naming the
// generator's error, when `random_bytes` fails: never a short, partial or all-zero token.
// Thread-safe when `random_bytes` is.
absl::StatusOr<std::string> RandomToken(RandomBytesFunction random_bytes = SystemRandomBytes);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_RANDOM_TOKEN_H_
