// The shipped device profiles and the MakeDevice factory.
#include "workers/models/blockcache/devices/profiles.h"

#include "workers/models/blockcache/devices/hdd.h"
#include "workers/models/blockcache/devices/ssd.h"

namespace kreplay::blockcache {
namespace {

DeviceProfile Hdd(std::string name, std::string description, HddProfile p) {
  DeviceProfile d;
  d.name = std::move(name);
  d.kind = DeviceKind::kHdd;
  d.description = std::move(description);
  d.hdd = p;
  return d;
}

DeviceProfile Ssd(std::string name, std::string description, SsdProfile p) {
  DeviceProfile d;
  d.name = std::move(name);
  d.kind = DeviceKind::kSsd;
  d.description = std::move(description);
  d.ssd = p;
  return d;
}

std::vector<DeviceProfile> BuildTable() {
  std::vector<DeviceProfile> t;
  {
    HddProfile p;
    p.capacity_bytes = 4'000'000'000'000ULL;
    p.rpm = 7200;
    p.heads = 8;
    p.zones = 16;
    p.single_track_seek_ms = 0.8;
    p.average_seek_ms = 8.5;
    p.full_stroke_seek_ms = 17.0;
    p.outer_rate_mb_s = 220;
    p.inner_rate_mb_s = 110;
    p.overhead_ns = 100'000;
    t.push_back(Hdd("hdd-7200", "4 TB 3.5\" SATA, 7200 rpm (4.17 ms mean rotational latency), 8.5 ms average seek, "
                                "220 -> 110 MB/s zoned; typical desktop/NAS datasheet figures",
                    p));
  }
  {
    HddProfile p;
    p.capacity_bytes = 4'000'000'000'000ULL;
    p.rpm = 5400;
    p.heads = 8;
    p.zones = 16;
    p.single_track_seek_ms = 1.0;
    p.average_seek_ms = 12.0;
    p.full_stroke_seek_ms = 24.0;
    p.outer_rate_mb_s = 180;
    p.inner_rate_mb_s = 90;
    p.overhead_ns = 100'000;
    t.push_back(Hdd("hdd-5400", "4 TB SATA, 5400 rpm (5.56 ms mean rotational latency), 12 ms average seek, "
                                "180 -> 90 MB/s zoned; typical low-power/archive drive",
                    p));
  }
  {
    HddProfile p;
    p.capacity_bytes = 600'000'000'000ULL;
    p.rpm = 15000;
    p.heads = 6;
    p.zones = 16;
    p.single_track_seek_ms = 0.2;
    p.average_seek_ms = 3.5;
    p.full_stroke_seek_ms = 7.5;
    p.outer_rate_mb_s = 290;
    p.inner_rate_mb_s = 160;
    p.overhead_ns = 50'000;
    t.push_back(Hdd("hdd-15k", "600 GB 2.5\" SAS, 15000 rpm (2 ms mean rotational latency), 3.5 ms average seek, "
                               "290 -> 160 MB/s zoned; typical enterprise drive",
                    p));
  }
  {
    SsdProfile p;  // the struct defaults are MQSim's (REFERENCE.md section 2, Devices)
    p.capacity_bytes = 512'000'000'000ULL;
    p.channels = 8;
    p.chips_per_channel = 4;
    p.dies_per_chip = 2;
    p.planes_per_die = 2;
    p.page_bytes = 8192;
    p.pages_per_block = 256;
    p.read_ns = 75'000;
    p.program_ns = 750'000;
    p.erase_ns = 3'800'000;
    p.channel_rate_mb_s = 333;
    p.host_rate_mb_s = 550;
    p.overhead_ns = 20'000;
    p.overprovisioning = 0.07;
    t.push_back(Ssd("ssd-sata", "512 GB SATA SSD with MQSim's default flash: 8 channels x 4 chips x 2 dies x 2 planes, "
                                "tR 75 us, tPROG 750 us, tBERS 3.8 ms, 8 KiB pages, 7 % over-provisioning, "
                                "333 MB/s channels, 550 MB/s SATA link; no FTL GC modelled",
                    p));
  }
  {
    SsdProfile p;
    p.capacity_bytes = 1'000'000'000'000ULL;
    p.channels = 8;
    p.chips_per_channel = 8;
    p.dies_per_chip = 2;
    p.planes_per_die = 2;
    p.page_bytes = 16384;
    p.pages_per_block = 512;
    p.read_ns = 60'000;
    p.program_ns = 600'000;
    p.erase_ns = 3'000'000;
    p.channel_rate_mb_s = 800;
    p.host_rate_mb_s = 3500;
    p.overhead_ns = 5'000;
    p.overprovisioning = 0.07;
    t.push_back(Ssd("ssd-nvme", "1 TB NVMe (PCIe 3.0 x4, ~3.5 GB/s) TLC SSD: 8 channels x 8 chips x 2 dies, tR 60 us, "
                                "tPROG 600 us, tBERS 3 ms, 16 KiB pages, 800 MB/s channels, 7 % over-provisioning; "
                                "illustrative class figures, no FTL GC modelled",
                    p));
  }
  return t;
}

}  // namespace

const std::vector<DeviceProfile>& DeviceProfiles() {
  static const std::vector<DeviceProfile> kTable = BuildTable();  // immutable after first use
  return kTable;
}

const DeviceProfile* FindDeviceProfile(std::string_view name) {
  for (const auto& p : DeviceProfiles()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string DeviceProfileNames() {
  std::string out;
  for (const auto& p : DeviceProfiles()) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

StatusOr<std::unique_ptr<Device>> MakeDevice(std::string_view profile, uint64_t capacity_override_bytes) {
  const DeviceProfile* p = FindDeviceProfile(profile);
  if (p == nullptr) {
    return NotFound("unknown device profile '" + std::string(profile) + "' (known: " + DeviceProfileNames() + ")");
  }
  if (p->kind == DeviceKind::kHdd) {
    auto hdd = HddModel::Create(p->name, p->hdd, capacity_override_bytes);
    if (!hdd.ok()) return hdd.status();
    return std::unique_ptr<Device>(std::move(hdd).value());
  }
  auto ssd = SsdModel::Create(p->name, p->ssd, capacity_override_bytes);
  if (!ssd.ok()) return ssd.status();
  return std::unique_ptr<Device>(std::move(ssd).value());
}

}  // namespace kreplay::blockcache
