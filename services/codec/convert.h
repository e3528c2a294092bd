// Conversions between value types and wire messages. Serialisations used in
// keys and result comparison are deterministic (same value, same bytes).
#pragma once

#include <string>

#include "kreplay/v1/result.pb.h"
#include "kreplay/v1/study.pb.h"
#include "kreplay/v1/workload.pb.h"
#include "services/core/status.h"
#include "services/model/params.h"
#include "services/model/result.h"
#include "services/workload/platform.h"

namespace kreplay::codec {

v1::Platform PlatformToProto(const workload::Platform& p);
workload::Platform PlatformFromProto(const v1::Platform& p);
// Canonical bytes of a platform (deterministic proto serialisation) and
// their SHA-256: the platform digest used in run keys.
std::string PlatformBytes(const workload::Platform& p);
std::string PlatformDigest(const workload::Platform& p);

void ParamsToProto(const model::ParamSet& ps, google::protobuf::RepeatedPtrField<v1::Param>* out);
model::ParamSet ParamsFromProto(const google::protobuf::RepeatedPtrField<v1::Param>& in);

v1::Histogram HistogramToProto(const sim::Histogram& h);
sim::Histogram HistogramFromProto(const v1::Histogram& h);

v1::ModelResult ResultToProto(const model::Result& r);
model::Result ResultFromProto(const v1::ModelResult& r);
// Deterministic bytes of a result: what the ledger stores and compares.
std::string SerializeResult(const model::Result& r);
StatusOr<model::Result> ParseResult(const std::string& bytes);

// Deterministic serialisation of any message.
std::string DeterministicBytes(const google::protobuf::Message& m);

}  // namespace kreplay::codec
