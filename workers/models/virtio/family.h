// The virtio family's registration: its models (models/virtio_models.h), its
// workload kinds (`virtio_block:` and `virtio_net:` generated, `pcap:` and
// `virtio_blocktrace:` recorded), its systems (host profiles under
// `platforms:`), the trace codec, the `virtioprofiles` listing, `kreplay
// calibrate virtio` and `trace inspect` of pcap files.
#pragma once

#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::virtio {

family::FamilyInfo VirtioFamilyInfo();
Status RegisterVirtioFamily(family::Catalog& catalog);

}  // namespace kreplay::virtio
