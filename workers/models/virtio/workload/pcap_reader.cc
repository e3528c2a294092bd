#include "workers/models/virtio/workload/pcap_reader.h"

#include <pcap/pcap.h>

#include <bitset>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

namespace kreplay::virtio {
namespace {

constexpr uint32_t kEthernetHeader = 14;
constexpr uint32_t kSllHeader = 16;   // struct sll_header (pcap/sll.h)
constexpr uint32_t kSll2Header = 20;  // struct sll2_header

// The link types read, and how a frame's size and network header follow
// from the record.
struct LinkInfo {
  int dlt;
  int64_t size_delta;  // frame bytes = len + size_delta
  uint32_t min_len;    // the link header's length (len below it is corrupt)
};
constexpr LinkInfo kLinks[] = {
    {DLT_EN10MB, 0, 0},
    {DLT_RAW, kEthernetHeader, 0},
    {DLT_IPV4, kEthernetHeader, 0},
    {DLT_IPV6, kEthernetHeader, 0},
    {DLT_LINUX_SLL, int64_t{kEthernetHeader} - kSllHeader, kSllHeader},
    {DLT_LINUX_SLL2, int64_t{kEthernetHeader} - kSll2Header, kSll2Header},
};

std::string LinkName(int dlt) {
  const char* n = pcap_datalink_val_to_name(dlt);
  return n ? n : "unknown";
}

std::string SupportedLinks() {
  std::string s;
  for (const LinkInfo& l : kLinks) {
    if (!s.empty()) s += ", ";
    s += std::to_string(l.dlt) + " (" + LinkName(l.dlt) + ")";
  }
  return s;
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

uint16_t Be16(const u_char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// FNV-1a, 64-bit.
struct Fnv {
  uint64_t h = 0xcbf29ce484222325ull;
  void Add(const u_char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  }
};

// Symmetric 5-tuple hash of the IP packet at `ip` (n captured bytes), 1..65535;
// 0 if it is not a parseable IPv4/IPv6 header.
uint16_t IpFlow(const u_char* ip, size_t n, bool v6) {
  size_t alen, l4;
  const u_char *src, *dst;
  uint8_t proto;
  bool ports_ok;
  if (!v6) {
    if (n < 20 || (ip[0] >> 4) != 4) return 0;
    const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
    if (ihl < 20) return 0;
    proto = ip[9];
    alen = 4;
    src = ip + 12;
    dst = ip + 16;
    l4 = ihl;
    ports_ok = (Be16(ip + 6) & 0x1fff) == 0;  // not a later fragment
  } else {
    if (n < 40 || (ip[0] >> 4) != 6) return 0;
    proto = ip[6];
    alen = 16;
    src = ip + 8;
    dst = ip + 24;
    l4 = 40;
    ports_ok = true;
  }
  uint8_t sp[2] = {0, 0}, dp[2] = {0, 0};
  if (ports_ok && (proto == 6 || proto == 17 || proto == 132) && n >= l4 + 4) {
    std::memcpy(sp, ip + l4, 2);
    std::memcpy(dp, ip + l4 + 2, 2);
  }
  // Order the endpoints so that both directions hash alike.
  int c = std::memcmp(src, dst, alen);
  if (c == 0) c = std::memcmp(sp, dp, 2);
  if (c > 0) {
    std::swap(src, dst);
    std::swap(sp, dp);
  }
  Fnv f;
  const u_char head[2] = {static_cast<u_char>(v6 ? 6 : 4), proto};
  f.Add(head, 2);
  f.Add(src, alen);
  f.Add(sp, 2);
  f.Add(dst, alen);
  f.Add(dp, 2);
  return static_cast<uint16_t>(1 + f.h % 65535);
}

// The flow of one record (caplen bytes at `d`) of link type `dlt`.
uint16_t Flow(int dlt, const u_char* d, size_t n) {
  uint16_t type = 0;
  size_t off = 0;
  switch (dlt) {
    case DLT_EN10MB:
      if (n < kEthernetHeader) return 0;
      type = Be16(d + 12);
      off = kEthernetHeader;
      while ((type == 0x8100 || type == 0x88a8) && n >= off + 4) {  // VLAN tags
        type = Be16(d + off + 2);
        off += 4;
      }
      break;
    case DLT_LINUX_SLL:
      if (n < kSllHeader) return 0;
      type = Be16(d + 14);
      off = kSllHeader;
      break;
    case DLT_LINUX_SLL2:
      if (n < kSll2Header) return 0;
      type = Be16(d);
      off = kSll2Header;
      break;
    case DLT_IPV4:
      return IpFlow(d, n, false);
    case DLT_IPV6:
      return IpFlow(d, n, true);
    default:  // DLT_RAW: the version nibble says
      if (n < 1) return 0;
      return IpFlow(d, n, (d[0] >> 4) == 6);
  }
  if (type == 0x0800) return IpFlow(d + off, n - off, false);
  if (type == 0x86dd) return IpFlow(d + off, n - off, true);
  return 0;
}

// Nearest-rank percentile q of the sizes in `hist` (n values).
uint32_t Percentile(const std::map<uint32_t, uint64_t>& hist, uint64_t n, double q) {
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(n));
  if (static_cast<double>(rank) < q * static_cast<double>(n)) ++rank;  // ceil
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (const auto& [size, count] : hist) {
    seen += count;
    if (seen >= rank) return size;
  }
  return hist.empty() ? 0 : hist.rbegin()->first;
}

// Reads every record of `p` into `out` (when not null) and `s`.
Status ReadRecords(pcap_t* p, const std::string& name, uint64_t max_packets, bool to_guest, bool keep_timing,
                   std::vector<PacketIo>* out, PcapSummary* s) {
  const int dlt = pcap_datalink(p);
  s->name = name;
  s->link_type = dlt;
  s->link_name = LinkName(dlt);
  const LinkInfo* link = nullptr;
  for (const LinkInfo& l : kLinks)
    if (l.dlt == dlt) link = &l;
  if (!link)
    return InvalidArgument(name + ": link type " + std::to_string(dlt) + " (" + s->link_name +
                           ") is not supported; supported: " + SupportedLinks());
  std::map<uint32_t, uint64_t> sizes;
  auto seen = std::make_unique<std::bitset<65536>>();
  int64_t first = 0, last = 0;
  for (;;) {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(p, &h, &data);
    if (rc == PCAP_ERROR_BREAK) break;  // end of the file
    auto where = [&] { return name + ": packet " + std::to_string(s->packets + 1) + ": "; };
    if (rc != 1) return InvalidArgument(where() + pcap_geterr(p));
    if (s->packets == max_packets)
      return InvalidArgument(name + ": more than " + std::to_string(max_packets) +
                             " packets (the limit per workload)");
    if (h->len < h->caplen)
      return InvalidArgument(where() + "original length " + std::to_string(h->len) + " is less than the captured " +
                             std::to_string(h->caplen));
    if (h->len < link->min_len)
      return InvalidArgument(where() + std::to_string(h->len) + " bytes, shorter than the " + s->link_name +
                             " header (" + std::to_string(link->min_len) + ")");
    const int64_t frame = int64_t{h->len} + link->size_delta;
    if (frame > UINT32_MAX) return InvalidArgument(where() + "frame of " + std::to_string(frame) + " bytes");
    // Nanosecond precision: tv_usec holds nanoseconds.
    int64_t t = static_cast<int64_t>(h->ts.tv_sec) * 1'000'000'000 + static_cast<int64_t>(h->ts.tv_usec);
    if (s->packets == 0) {
      first = last = t;
    } else if (t < last) {
      ++s->clamped_times;
      t = last;
    }
    last = t;
    PacketIo io;
    io.at = keep_timing ? t - first : -1;
    io.bytes = static_cast<uint32_t>(frame);
    io.flow = Flow(dlt, data, h->caplen);
    io.to_guest = to_guest;
    if (out) out->push_back(io);
    ++s->packets;
    s->frame_bytes += io.bytes;
    s->captured_bytes += h->caplen;
    if (h->caplen < h->len) ++s->snaplen_cut;
    if (io.flow == 0) {
      ++s->non_ip;
    } else {
      seen->set(io.flow);
    }
    ++sizes[io.bytes];
  }
  if (s->packets == 0) return InvalidArgument(name + ": empty capture (no packets)");
  s->duration_ns = last - first;
  s->flows = seen->count();
  s->min_bytes = sizes.begin()->first;
  s->max_bytes = sizes.rbegin()->first;
  s->p50_bytes = Percentile(sizes, s->packets, 0.50);
  s->p90_bytes = Percentile(sizes, s->packets, 0.90);
  s->p99_bytes = Percentile(sizes, s->packets, 0.99);
  return OkStatus();
}

// Opens `f` (taking it) as a capture with nanosecond timestamps.
StatusOr<PcapHandle> OpenStream(FILE* f, const std::string& name) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) {
    std::fclose(f);  // libpcap closes the stream only once it owns it (on success)
    return InvalidArgument(name + ": not a pcap or pcapng file: " + err);
  }
  return PcapHandle(p);
}

// A stdio stream reading a ByteSource, for pcap_fopen_offline(); keeps the
// source's first error.
struct Cookie {
  std::unique_ptr<textio::ByteSource> src;
  Status error;
  uint64_t read = 0;  // bytes handed to libpcap
};

ssize_t CookieRead(void* c, char* buf, size_t n) {
  auto* cookie = static_cast<Cookie*>(c);
  StatusOr<size_t> got = cookie->src->Read(buf, n);
  if (!got.ok()) {
    cookie->error = got.status();
    errno = EIO;
    return -1;
  }
  cookie->read += *got;
  return static_cast<ssize_t>(*got);
}

// Reads a capture from `src` (already decompressed) through libpcap, in
// constant memory: its packets into *packets (may be null) and *s.
Status ReadSource(std::unique_ptr<textio::ByteSource> src, const std::string& name, uint64_t max_packets, bool rx,
                  bool keep_timing, std::vector<PacketIo>* packets, PcapSummary* s) {
  Cookie cookie{std::move(src), OkStatus()};
  cookie_io_functions_t io{};
  io.read = CookieRead;
  FILE* f = fopencookie(&cookie, "rb", io);
  if (!f) return Internal(name + ": fopencookie: " + std::strerror(errno));
  StatusOr<PcapHandle> p = OpenStream(f, name);
  Status st = p.ok() ? ReadRecords(p->get(), name, max_packets, rx, keep_timing, packets, s) : p.status();
  if (!cookie.error.ok()) return cookie.error.WithContext(name);  // the cause, rather than libpcap's echo of it
  if (!p.ok() && cookie.read == 0) return InvalidArgument(name + ": not a pcap or pcapng file: the file is empty");
  return st;
}

}  // namespace

StatusOr<VirtioWorkload> ReadPcap(const std::string& path, const PcapOptions& o, PcapSummary* summary) {
  if (o.direction != "tx" && o.direction != "rx")
    return InvalidArgument(path + ": direction must be tx or rx (got '" + o.direction + "')");
  KREPLAY_ASSIGN_OR_RETURN(std::unique_ptr<textio::ByteSource> src, textio::OpenSource(path));
  VirtioWorkload w;
  w.kind = WorkloadKind::kNet;
  PcapSummary s;
  KREPLAY_RETURN_IF_ERROR(ReadSource(std::move(src), path, o.max_packets, o.direction == "rx", o.keep_timing,
                                     &w.packets, &s));
  if (summary) *summary = std::move(s);
  return w;
}

StatusOr<PcapSummary> InspectPcapSource(std::unique_ptr<textio::ByteSource> src, const std::string& name) {
  PcapSummary s;
  KREPLAY_RETURN_IF_ERROR(ReadSource(std::move(src), name, UINT64_MAX, false, true, nullptr, &s));
  return s;
}

bool LooksLikePcap(std::string_view head) {
  if (head.size() < 4) return false;
  auto le32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(head[at + i])} << (8 * i);
    return v;
  };
  auto swapped = [](uint32_t v) { return __builtin_bswap32(v); };
  const uint32_t m = le32(0);
  for (uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du, 0xa1b2cd34u})
    if (m == magic || m == swapped(magic)) return true;
  if (m != 0x0a0d0d0au) return false;  // the section header block's type reads alike in both orders
  if (head.size() < 12) return true;
  const uint32_t bom = le32(8);
  return bom == 0x1a2b3c4du || bom == swapped(0x1a2b3c4du);
}

std::string FormatPcapSummary(const PcapSummary& s) {
  char buf[512];
  std::string out;
  auto line = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    out += buf;
  };
  using ull = unsigned long long;
  line("packet capture %s: link type %d (%s)\n", s.name.c_str(), s.link_type, s.link_name.c_str());
  line("  %llu packets, %llu frame bytes over %.6f s", static_cast<ull>(s.packets), static_cast<ull>(s.frame_bytes),
       static_cast<double>(s.duration_ns) / 1e9);
  if (s.duration_ns > 0)
    line(" (%.0f packets/s, %.3f Gbit/s)", static_cast<double>(s.packets) * 1e9 / static_cast<double>(s.duration_ns),
         static_cast<double>(s.frame_bytes) * 8 / static_cast<double>(s.duration_ns));
  out += "\n";
  line("  frame bytes (as virtio-net carries them): min %u, p50 %u, p90 %u, p99 %u, max %u\n", s.min_bytes,
       s.p50_bytes, s.p90_bytes, s.p99_bytes, s.max_bytes);
  line("  flows: %llu (IP 5-tuples); %llu packets not IP (flow 0)\n", static_cast<ull>(s.flows),
       static_cast<ull>(s.non_ip));
  if (s.snaplen_cut)
    line("  %llu packets cut by the snaplen (%llu bytes captured); sizes are the original lengths\n",
         static_cast<ull>(s.snaplen_cut), static_cast<ull>(s.captured_bytes));
  if (s.clamped_times)
    line("  %llu timestamps went backwards and were clamped to the previous packet's\n",
         static_cast<ull>(s.clamped_times));
  return out;
}

std::string PcapSummaryJson(const PcapSummary& s) {
  nlohmann::ordered_json j;
  j["name"] = s.name;
  j["format"] = "pcap";
  j["link_type"] = s.link_type;
  j["link_name"] = s.link_name;
  j["packets"] = s.packets;
  j["frame_bytes"] = s.frame_bytes;
  j["captured_bytes"] = s.captured_bytes;
  j["snaplen_cut"] = s.snaplen_cut;
  j["duration_ns"] = s.duration_ns;
  j["frame_size"] = {{"min", s.min_bytes}, {"p50", s.p50_bytes}, {"p90", s.p90_bytes}, {"p99", s.p99_bytes},
                     {"max", s.max_bytes}};
  j["flows"] = s.flows;
  j["non_ip_packets"] = s.non_ip;
  j["clamped_times"] = s.clamped_times;
  return j.dump();
}

}  // namespace kreplay::virtio
