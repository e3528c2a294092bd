// Packet captures (pcap and pcapng, through libpcap) as virtio-net
// workloads: one PacketIo per captured packet, in capture order.
//
// - Size: the packet's original length (pcap_pkthdr.len), not the captured
//   length (caplen): a capture cut at a snaplen (tcpdump -s 96) still
//   records how long each frame was, and the datapath's cost is the frame's,
//   not the capture's. Sizes are the Ethernet frame as virtio-net carries it
//   (no virtio_net_hdr, no FCS): for DLT_RAW / LINKTYPE_IPV4 / LINKTYPE_IPV6
//   the 14-byte Ethernet header is added; for Linux cooked captures
//   (DLT_LINUX_SLL, 16 bytes; DLT_LINUX_SLL2, 20 bytes) the cooked header is
//   replaced by an Ethernet header. Sizes are not clamped to 60..9018: a
//   host capture with TSO/GRO shows the 64 KiB frames a virtio-net device
//   carries with VIRTIO_NET_F_HOST_TSO4 / GUEST_TSO4.
// - Time: ns since the first packet (nanosecond pcaps keep their
//   resolution: the file is opened with PCAP_TSTAMP_PRECISION_NANO, which
//   scales microsecond files up). A timestamp earlier than the previous
//   packet's (captures merged from several CPUs or interfaces) is clamped to
//   it and counted (PcapSummary::clamped_times), not an error: the order of
//   the file is the order of the replay.
// - Flow: a hash of the IPv4/IPv6 5-tuple (addresses, protocol and, for
//   TCP/UDP/SCTP in an unfragmented or first fragment, ports), symmetric (a
//   connection's two directions share it), mapped to 1..65535; 0 for
//   anything else (ARP, non-IP, a header cut by the snaplen). Only the
//   outer header: 802.1Q/802.1ad tags are skipped, IPv6 extension headers
//   and tunnels are not followed (cheap, per packet, no allocation).
//
// Errors name the file: "FILE: not a pcap or pcapng file: <libpcap's
// message>", "FILE: link type 105 (IEEE802_11) is not supported;
// supported: ...", "FILE: packet N: <libpcap's message>" (a truncated or
// corrupt record; N counts from 1), "FILE: empty capture (no packets)",
// "FILE: more than M packets (the limit per workload)".
//
// Thread-safety: reentrant (libpcap handles are per call).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "services/core/status.h"
#include "services/textio/source.h"
#include "workers/models/virtio/workload/virtio_workload.h"

namespace kreplay::virtio {

struct PcapOptions {
  std::string direction = "tx";  // tx | rx: which way the packets travel relative to the guest
  uint64_t max_packets = kMaxWorkloadItems;  // more is an error
  bool keep_timing = true;                   // false: saturation (every at = -1)
};

// What `kreplay trace inspect` prints about a capture.
struct PcapSummary {
  std::string name;
  int link_type = 0;              // libpcap's DLT_ value (pcap_datalink())
  std::string link_name;          // "EN10MB"
  uint64_t packets = 0;
  uint64_t frame_bytes = 0;       // sum of frame sizes as virtio-net carries them
  uint64_t captured_bytes = 0;    // sum of caplen
  uint64_t snaplen_cut = 0;       // packets captured shorter than they were (caplen < len)
  int64_t duration_ns = 0;        // last packet's time - first's (after clamping)
  uint32_t min_bytes = 0, p50_bytes = 0, p90_bytes = 0, p99_bytes = 0, max_bytes = 0;  // frame sizes
  uint64_t flows = 0;             // distinct flow ids among IP packets
  uint64_t non_ip = 0;            // packets with flow 0
  uint64_t clamped_times = 0;     // timestamps earlier than the previous packet's, clamped
  bool operator==(const PcapSummary&) const = default;
};

// The capture at `path` (gzip or zstd compressed too, textio::OpenSource)
// as a kNet workload, read in constant memory beside the packets. `summary`,
// when given, receives the capture's summary (with its clamped timestamps).
StatusOr<VirtioWorkload> ReadPcap(const std::string& path, const PcapOptions& o, PcapSummary* summary = nullptr);

// The summary of a capture streaming from `src` (family::TraceInput::source, already
// decompressed) through a fopencookie() stream, so a capture of any size
// is summarised in constant memory. A read error of `src` is returned as
// it is, named.
StatusOr<PcapSummary> InspectPcapSource(std::unique_ptr<textio::ByteSource> src, const std::string& name);

// Whether `head` (a file's first bytes, at least 4) begins a pcap (either
// byte order; microsecond 0xa1b2c3d4, nanosecond 0xa1b23c4d or the modified
// format 0xa1b2cd34) or a pcapng file (section header block 0x0A0D0D0A,
// and its byte-order magic 0x1A2B3C4D when head holds it).
bool LooksLikePcap(std::string_view head);

std::string FormatPcapSummary(const PcapSummary& s);
std::string PcapSummaryJson(const PcapSummary& s);

}  // namespace kreplay::virtio
