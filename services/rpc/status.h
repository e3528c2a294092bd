// Conversions at the RPC edge: kreplay::Status codes equal gRPC's, so this is
// a cast, plus a channel factory with kreplay's message-size limits.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "services/core/status.h"

namespace kreplay::rpc {

grpc::Status ToGrpc(const Status& s);
Status FromGrpc(const grpc::Status& s, const std::string& context);

// Insecure channel to `target` ("host:port") with the message limits raised
// to `max_message_bytes` (results with many histograms are large).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int max_message_bytes = 64 << 20);

}  // namespace kreplay::rpc
