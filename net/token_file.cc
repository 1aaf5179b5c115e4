#include "net/token_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fleettune::net {
namespace {

absl::Status CannotRead(absl::string_view flag, const std::string& path, int error) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot read ", flag, " '", path, "': ", std::strerror(error)));
}

// The whole of `path`. read(2) rather than a stream: a directory opens fine and fails only on
// reading (EISDIR), and the system's reason is what the user needs either way.
absl::StatusOr<std::string> ReadWholeFile(absl::string_view flag, const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return CannotRead(flag, path, errno);
  std::string contents;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return CannotRead(flag, path, error);
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return contents;
}

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(std::string_view flag_name, const std::string& path) {
  const absl::string_view flag(flag_name.data(), flag_name.size());
  absl::StatusOr<std::string> contents = ReadWholeFile(flag, path);
  if (!contents.ok()) return contents.status();
  std::string token(absl::StripAsciiWhitespace(*contents));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " '", path, "' is empty"));
  }
  return token;
}

absl::StatusOr<std::string> ReadToken(std::string_view flag, const std::string& path,
                                      const char* env_variable) {
  if (!path.empty()) return ReadTokenFile(flag, path);
  const char* value = std::getenv(env_variable);
  return std::string(value == nullptr ? "" : value);
}

absl::StatusOr<std::string> ReadPemFile(std::string_view flag_name, const std::string& path,
                                        PemContent content) {
  const absl::string_view flag(flag_name.data(), flag_name.size());
  absl::StatusOr<std::string> pem = ReadWholeFile(flag, path);
  if (!pem.ok()) return pem.status();
  const bool found = content == PemContent::kCertificate
                         ? pem->find("-----BEGIN CERTIFICATE-----") != std::string::npos
                         : pem->find("-----BEGIN ") != std::string::npos &&
                               pem->find("PRIVATE KEY-----") != std::string::npos;
  if (!found) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", path, "' holds no PEM ",
                     content == PemContent::kCertificate ? "certificate" : "private key"));
  }
  return *std::move(pem);
}

}  // namespace fleettune::net
