// The virtio family's models: one per backend (vhost-net, vhost-user,
// vhost-vdpa, virtio-vdpa, VDUSE, ublk), each the datapath simulator
// (sim/datapath.h) with that backend's path, reading a host profile as its
// system and a virtio workload.
#pragma once

#include "services/core/status.h"
#include "services/model/registry.h"
#include "workers/models/virtio/sim/datapath.h"

namespace kreplay::virtio {

Status RegisterVirtioModels(model::Registry& registry);

// A run's configuration from a model's resolved parameters: what the model's
// run does first; InvalidArgument names the parameter that the kernel
// release or the workload rules out.
StatusOr<DatapathConfig> ConfigFromParams(Backend b, const model::ParamSet& p, bool net);

}  // namespace kreplay::virtio
