#include "rpc_server/grpc_log.h"

#include <grpc/support/log.h>

#include <string_view>

#include "absl/strings/str_cat.h"
#include "rpc_server/log.h"

namespace fleettune::rpc_server {
namespace {

// The source file of gRPC's TLS handshake; its errors are what DiagnoseChannel explains.
constexpr std::string_view kHandshakeSource = "ssl_transport_security.cc";

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// gRPC's format, less the thread id: "E1203 09:26:33.066554 file.cc:1501] message" (log.h).
void WriteUnlessHandshake(gpr_log_func_args* args) {
  const std::string_view file = BaseName(args->file == nullptr ? "" : args->file);
  if (file == kHandshakeSource) return;
  const LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? LogLevel::kError
                         : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kInfo
                                                                   : LogLevel::kDebug;
  WriteLogLine(level, absl::StrCat(absl::string_view(file.data(), file.size()), ":", args->line,
                                   "] ", args->message == nullptr ? "" : args->message));
}

}  // namespace

void LeaveTlsHandshakeErrorsToDiagnosis() { gpr_set_log_function(WriteUnlessHandshake); }

}  // namespace fleettune::rpc_server
