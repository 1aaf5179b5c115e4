// gRPC's own error log, minus the TLS handshake failures that connect_diagnosis.h reports.
#ifndef FLEETTUNE_RPC_SERVER_GRPC_LOG_H_
#define FLEETTUNE_RPC_SERVER_GRPC_LOG_H_

namespace fleettune::rpc_server {

// Routes gRPC's log through a function that drops the lines of its TLS handshake
// (ssl_transport_security.cc: "Handshake failed ... certificate verify failed", "No match
// found for server name"), which gRPC writes on every connection attempt, and writes every
// other line through the board's log (log.h: gRPC's own format, and its level, which drops
// gRPC's lines below it). For a process that reports failed connections itself, once each,
// with DiagnoseChannel (whose message quotes gRPC's reason): a board, a tuner. Not for a
// tracker, whose handshake failures are other machines' mistakes it has no other way to
// show. Process-wide; call before the first channel is made.
void LeaveTlsHandshakeErrorsToDiagnosis();

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_GRPC_LOG_H_
