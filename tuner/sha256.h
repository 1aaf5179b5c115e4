// SHA-256 of a byte string, as lowercase hex (OpenSSL's libcrypto).
#ifndef FLEETTUNE_TUNER_SHA256_H_
#define FLEETTUNE_TUNER_SHA256_H_

#include <string>
#include <string_view>

namespace fleettune::tuner {

std::string Sha256Hex(std::string_view bytes);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_SHA256_H_
