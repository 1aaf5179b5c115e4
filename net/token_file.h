// Shared secrets and certificates as users hand them to fleettune: a token in a file named by a
// flag (`--token-file`, `--board-token-file`, `--client-token-file`) or, without one, an
// environment variable (FLEETTUNE_BOARD_TOKEN, FLEETTUNE_CLIENT_TOKEN); PEM files named by
// `--tls-ca`, `--tls-cert` and `--tls-key`. The tracker, the tuner's commands and the board
// runtime all read them here, so a file means the same thing and a mistake gets the same
// message everywhere.
//
// Part of the small `fleettune_net` library (Abseil and libc only), like host_port.h, because
// the board runtime, which may depend on nothing beyond gRPC, protobuf and Abseil, uses it.
#ifndef FLEETTUNE_NET_TOKEN_FILE_H_
#define FLEETTUNE_NET_TOKEN_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fleettune::net {

// The token in `path`, the value of the command-line flag `flag` (e.g. "--token-file"): the
// file's contents without leading and trailing ASCII whitespace (a token written by `echo` or
// an editor ends in a newline). Its permissions are not checked: the tracker, a systemd
// credential or a Kubernetes secret decide who may read it.
// On failure returns InvalidArgument whose message names `flag` and quotes `path`:
//   "cannot read --token-file '/etc/t': No such file or directory" (also a directory, or a
//   file this user may not read: the system's reason follows the colon), and
//   "--token-file '/etc/t' is empty" (nothing but whitespace in it).
// Thread-safe.
absl::StatusOr<std::string> ReadTokenFile(std::string_view flag, const std::string& path);

// The token for a command that takes `flag` and the environment variable `env_variable`:
// ReadTokenFile(flag, path) when `path` is not empty; otherwise the variable's value as it
// is (untrimmed), or "" (no token) when it is unset. Fails only as ReadTokenFile does.
absl::StatusOr<std::string> ReadToken(std::string_view flag, const std::string& path,
                                      const char* env_variable);

// What a PEM file named on the command line must hold.
enum class PemContent {
  kCertificate,  // a "-----BEGIN CERTIFICATE-----" block (--tls-ca, --tls-cert)
  kPrivateKey,   // a "-----BEGIN ... PRIVATE KEY-----" block (--tls-key)
};

// The whole of the PEM file `path`, the value of the flag `flag` (e.g. "--tls-ca"). Fails
// with InvalidArgument naming `flag` and quoting `path`: "cannot read --tls-ca '/etc/ca.pem':
// No such file or directory" (as ReadTokenFile), or "--tls-ca '/etc/ca.pem' holds no PEM
// certificate" ("... no PEM private key"). Thread-safe.
absl::StatusOr<std::string> ReadPemFile(std::string_view flag, const std::string& path,
                                        PemContent content);

}  // namespace fleettune::net

#endif  // FLEETTUNE_NET_TOKEN_FILE_H_
