#include "rpc_server/grpc_log.h"

#include <grpc/support/log.h>

#include <cstdio>
#include <string_view>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fleettune::rpc_server {
namespace {

// The source file of gRPC's TLS handshake; its errors are what DiagnoseChannel explains.
constexpr std::string_view kHandshakeSource = "ssl_transport_security.cc";

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// gRPC's format, less the thread id: "E1203 09:26:33.066554 file.cc:1501] message".
void WriteUnlessHandshake(gpr_log_func_args* args) {
  const std::string_view file = BaseName(args->file == nullptr ? "" : args->file);
  if (file == kHandshakeSource) return;
  const char severity = args->severity == GPR_LOG_SEVERITY_ERROR  ? 'E'
                        : args->severity == GPR_LOG_SEVERITY_INFO ? 'I'
                                                                  : 'D';
  const std::string time = absl::FormatTime("%m%d %H:%M:%E6S", absl::Now(), absl::UTCTimeZone());
  std::fprintf(stderr, "%c%s %.*s:%d] %s\n", severity, time.c_str(), static_cast<int>(file.size()),
               file.data(), args->line, args->message);
}

}  // namespace

void LeaveTlsHandshakeErrorsToDiagnosis() { gpr_set_log_function(WriteUnlessHandshake); }

}  // namespace fleettune::rpc_server
