// Packet captures read as virtio-net workloads. The tests write their own
// files: pcap through libpcap's writer (pcap_open_dead + pcap_dump), pcapng
// and corrupt files byte by byte, into a fresh temporary directory.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "workers/models/virtio/workload/pcap_reader.h"

namespace kreplay::virtio {
namespace {

using Bytes = std::string;

void Put16(Bytes& b, uint16_t v) {  // big-endian (network order)
  b.push_back(static_cast<char>(v >> 8));
  b.push_back(static_cast<char>(v));
}
void PutLE(Bytes& b, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) b.push_back(static_cast<char>(v >> (8 * i)));
}

// An IPv4 packet of `total` bytes (>= 24) from a to b with ports.
Bytes Ipv4(uint32_t a, uint32_t b, uint8_t proto, uint16_t sport, uint16_t dport, size_t total) {
  Bytes p;
  p += static_cast<char>(0x45);
  p += '\0';
  Put16(p, static_cast<uint16_t>(total));
  Put16(p, 0);
  Put16(p, 0x4000);  // DF, offset 0
  p += static_cast<char>(64);
  p += static_cast<char>(proto);
  Put16(p, 0);
  for (uint32_t addr : {a, b})
    for (int i = 3; i >= 0; --i) p += static_cast<char>(addr >> (8 * i));
  Put16(p, sport);
  Put16(p, dport);
  p.resize(total, '\n');  // payload of newlines (the trace-inspect head cut looks for them)
  return p;
}

Bytes Ipv6(uint8_t last_src, uint8_t last_dst, uint16_t sport, uint16_t dport, size_t total) {
  Bytes p;
  p += static_cast<char>(0x60);
  p.append(3, '\0');
  Put16(p, static_cast<uint16_t>(total - 40));
  p += static_cast<char>(17);  // UDP
  p += static_cast<char>(64);
  p.append(15, '\x20');
  p += static_cast<char>(last_src);
  p.append(15, '\x20');
  p += static_cast<char>(last_dst);
  Put16(p, sport);
  Put16(p, dport);
  p.resize(total, 'x');
  return p;
}

Bytes Ethernet(const Bytes& l3, uint16_t type = 0x0800) {
  Bytes f(12, '\x02');
  Put16(f, type);
  return f + l3;
}

Bytes Sll(const Bytes& l3) {
  Bytes f;
  Put16(f, 0);       // packet type: to us
  Put16(f, 1);       // ARPHRD_ETHER
  Put16(f, 6);       // address length
  f.append(8, '\x02');
  Put16(f, 0x0800);  // protocol
  return f + l3;
}

Bytes Sll2(const Bytes& l3) {
  Bytes f;
  Put16(f, 0x0800);  // protocol
  Put16(f, 0);       // reserved
  f.append(4, '\0');  // interface index
  Put16(f, 1);       // ARPHRD_ETHER
  f += '\0';         // packet type
  f += static_cast<char>(6);
  f.append(8, '\x02');
  return f + l3;
}

struct Rec {
  int64_t t_ns;
  Bytes data;
  uint32_t len = 0;  // 0: data.size()
};

class PcapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pcap_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A pcap through libpcap's writer: nanosecond or microsecond timestamps.
  std::string WritePcap(const std::string& name, int dlt, const std::vector<Rec>& recs, bool nano = true) {
    const std::string path = Path(name);
    pcap_t* p = pcap_open_dead_with_tstamp_precision(dlt, 65535,
                                                     nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
    EXPECT_NE(d, nullptr) << pcap_geterr(p);
    for (const Rec& r : recs) {
      pcap_pkthdr h{};
      h.ts.tv_sec = r.t_ns / 1'000'000'000;
      const int64_t sub = r.t_ns % 1'000'000'000;
      h.ts.tv_usec = nano ? sub : sub / 1000;
      h.caplen = static_cast<uint32_t>(r.data.size());
      h.len = r.len ? r.len : h.caplen;
      pcap_dump(reinterpret_cast<u_char*>(d), &h, reinterpret_cast<const u_char*>(r.data.data()));
    }
    pcap_dump_close(d);
    pcap_close(p);
    return path;
  }

  std::string WriteBytes(const std::string& name, const Bytes& b) {
    const std::string path = Path(name);
    std::ofstream(path, std::ios::binary) << b;
    return path;
  }
  static Bytes Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_;
};

StatusOr<VirtioWorkload> Read(const std::string& path, PcapSummary* s = nullptr, PcapOptions o = {}) {
  return ReadPcap(path, o, s);
}

constexpr uint32_t kA = 0x0a000001, kB = 0x0a000002, kC = 0xc0a80101;

TEST_F(PcapTest, EthernetSizesNanosecondTimesAndFlows) {
  const int64_t t0 = 1'700'000'000 * int64_t{1'000'000'000} + 123;
  const std::string path = WritePcap("eth.pcap", DLT_EN10MB,
                                     {{t0, Ethernet(Ipv4(kA, kB, 6, 40000, 80, 100))},
                                      {t0 + 1, Ethernet(Ipv4(kB, kA, 6, 80, 40000, 1500))},  // the reply: same flow
                                      {t0 + 1500, Ethernet(Ipv4(kA, kC, 17, 5353, 53, 46))},
                                      {t0 + 2'000'000'007, Ethernet(Bytes(46, 'a'), 0x0806)},  // ARP: flow 0
                                      // cut by a 96-byte snaplen: the size is the original length
                                      {t0 + 2'000'000'008, Ethernet(Ipv4(kA, kB, 6, 40000, 80, 82)), 9014}});
  PcapSummary s;
  auto w = Read(path, &s);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->kind, WorkloadKind::kNet);
  ASSERT_EQ(w->packets.size(), 5u);
  const auto& p = w->packets;
  EXPECT_EQ(p[0].at, 0);
  EXPECT_EQ(p[1].at, 1);
  EXPECT_EQ(p[2].at, 1500);
  EXPECT_EQ(p[3].at, 2'000'000'007);
  EXPECT_EQ(p[0].bytes, 114u);
  EXPECT_EQ(p[1].bytes, 1514u);
  EXPECT_EQ(p[2].bytes, 60u);
  EXPECT_EQ(p[4].bytes, 9014u);
  EXPECT_NE(p[0].flow, 0);
  EXPECT_EQ(p[1].flow, p[0].flow);
  EXPECT_EQ(p[4].flow, p[0].flow);
  EXPECT_NE(p[2].flow, 0);
  EXPECT_NE(p[2].flow, p[0].flow);
  EXPECT_EQ(p[3].flow, 0);
  for (const PacketIo& io : p) EXPECT_FALSE(io.to_guest);
  EXPECT_EQ(s.packets, 5u);
  EXPECT_EQ(s.link_type, DLT_EN10MB);
  EXPECT_EQ(s.link_name, "EN10MB");
  EXPECT_EQ(s.flows, 2u);
  EXPECT_EQ(s.non_ip, 1u);
  EXPECT_EQ(s.snaplen_cut, 1u);
  EXPECT_EQ(s.clamped_times, 0u);
  EXPECT_EQ(s.duration_ns, 2'000'000'008);
  EXPECT_EQ(s.frame_bytes, 114u + 1514 + 60 + 60 + 9014);
  EXPECT_EQ(s.min_bytes, 60u);
  EXPECT_EQ(s.p50_bytes, 114u);  // 60 60 114 1514 9014: the 3rd of 5
  EXPECT_EQ(s.p90_bytes, 9014u);
  EXPECT_EQ(s.max_bytes, 9014u);
}

TEST_F(PcapTest, MicrosecondFilesScaleToNanoseconds) {
  const std::string path = WritePcap("usec.pcap", DLT_EN10MB,
                                     {{5'000'000'000, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))},
                                      {5'000'003'000, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))}},
                                     /*nano=*/false);
  auto w = Read(path);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->packets[1].at, 3000);
}

TEST_F(PcapTest, RawIpAddsAnEthernetHeader) {
  const std::string path = WritePcap("raw.pcap", DLT_RAW,
                                     {{0, Ipv4(kA, kB, 17, 1000, 2000, 100)}, {10, Ipv6(1, 2, 1000, 2000, 140)},
                                      {20, Ipv6(2, 1, 2000, 1000, 140)}});
  PcapSummary s;
  auto w = Read(path, &s);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->packets[0].bytes, 114u);
  EXPECT_EQ(w->packets[1].bytes, 154u);
  EXPECT_NE(w->packets[1].flow, 0);
  EXPECT_EQ(w->packets[2].flow, w->packets[1].flow);  // symmetric
  EXPECT_NE(w->packets[0].flow, w->packets[1].flow);
  EXPECT_EQ(s.link_type, DLT_RAW);
  EXPECT_EQ(s.flows, 2u);
  // LINKTYPE_IPV4 too.
  auto v4 = Read(WritePcap("ipv4.pcap", DLT_IPV4, {{0, Ipv4(kA, kB, 17, 1000, 2000, 100)}}));
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  EXPECT_EQ(v4->packets[0].bytes, 114u);
  EXPECT_EQ(v4->packets[0].flow, w->packets[0].flow);
}

TEST_F(PcapTest, CookedHeadersBecomeEthernet) {
  const Bytes ip = Ipv4(kA, kB, 6, 40000, 443, 200);
  auto sll = Read(WritePcap("sll.pcap", DLT_LINUX_SLL, {{0, Sll(ip)}}));
  ASSERT_TRUE(sll.ok()) << sll.status().ToString();
  EXPECT_EQ(sll->packets[0].bytes, 214u);  // 16 + 200 captured, 14 + 200 on virtio-net
  auto sll2 = Read(WritePcap("sll2.pcap", DLT_LINUX_SLL2, {{0, Sll2(ip)}}));
  ASSERT_TRUE(sll2.ok()) << sll2.status().ToString();
  EXPECT_EQ(sll2->packets[0].bytes, 214u);
  auto eth = Read(WritePcap("eth.pcap", DLT_EN10MB, {{0, Ethernet(ip)}}));
  ASSERT_TRUE(eth.ok());
  EXPECT_EQ(sll->packets[0].flow, eth->packets[0].flow);
  EXPECT_EQ(sll2->packets[0].flow, eth->packets[0].flow);
  // A cooked record shorter than its header is corrupt.
  auto bad = Read(WritePcap("short.pcap", DLT_LINUX_SLL2, {{0, Bytes(10, 'x')}}));
  EXPECT_NE(bad.status().message().find("short.pcap: packet 1: 10 bytes, shorter than the LINUX_SLL2 header (20)"),
            std::string::npos)
      << bad.status().ToString();
}

// A pcapng file: section header, an interface with nanosecond resolution
// (if_tsresol = 9), two enhanced packet blocks (little-endian).
Bytes Pcapng(uint16_t linktype, const std::vector<Rec>& recs) {
  Bytes b;
  PutLE(b, 0x0a0d0d0a, 4);
  PutLE(b, 28, 4);
  PutLE(b, 0x1a2b3c4d, 4);
  PutLE(b, 1, 2);
  PutLE(b, 0, 2);
  PutLE(b, ~uint64_t{0}, 8);
  PutLE(b, 28, 4);
  PutLE(b, 1, 4);  // interface description block
  PutLE(b, 32, 4);
  PutLE(b, linktype, 2);
  PutLE(b, 0, 2);
  PutLE(b, 0, 4);  // snaplen: none
  PutLE(b, 9, 2);  // if_tsresol
  PutLE(b, 1, 2);
  b += static_cast<char>(9);
  b.append(3, '\0');
  PutLE(b, 0, 4);  // opt_endofopt
  PutLE(b, 32, 4);
  for (const Rec& r : recs) {
    const size_t padded = (r.data.size() + 3) / 4 * 4;
    const uint32_t total = static_cast<uint32_t>(32 + padded);
    PutLE(b, 6, 4);  // enhanced packet block
    PutLE(b, total, 4);
    PutLE(b, 0, 4);
    PutLE(b, static_cast<uint64_t>(r.t_ns) >> 32, 4);
    PutLE(b, static_cast<uint64_t>(r.t_ns) & 0xffffffffu, 4);
    PutLE(b, r.data.size(), 4);
    PutLE(b, r.len ? r.len : r.data.size(), 4);
    b += r.data;
    b.append(padded - r.data.size(), '\0');
    PutLE(b, total, 4);
  }
  return b;
}

TEST_F(PcapTest, PcapngWithNanosecondResolution) {
  const Bytes ng = Pcapng(1, {{1'000'000'000'000'000'001, Ethernet(Ipv4(kA, kB, 6, 1, 2, 51))},
                              {1'000'000'000'000'000'778, Ethernet(Ipv4(kA, kB, 6, 1, 2, 1000)), 1600}});
  EXPECT_TRUE(LooksLikePcap(ng));
  PcapSummary s;
  auto w = Read(WriteBytes("a.pcapng", ng), &s);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->packets.size(), 2u);
  EXPECT_EQ(w->packets[0].bytes, 65u);
  EXPECT_EQ(w->packets[1].bytes, 1600u);
  EXPECT_EQ(w->packets[1].at, 777);
  EXPECT_EQ(s.snaplen_cut, 1u);
}

TEST_F(PcapTest, TruncatedLastRecordNamesThePacket) {
  const std::string good = WritePcap("good.pcap", DLT_EN10MB,
                                     {{0, Ethernet(Ipv4(kA, kB, 6, 1, 2, 100))},
                                      {1, Ethernet(Ipv4(kA, kB, 6, 1, 2, 100))},
                                      {2, Ethernet(Ipv4(kA, kB, 6, 1, 2, 100))}});
  const Bytes b = Slurp(good);
  const std::string cut = WriteBytes("cut.pcap", b.substr(0, b.size() - 10));
  auto w = Read(cut);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.status().message().rfind(cut + ": packet 3: ", 0), 0u) << w.status().message();
  EXPECT_NE(w.status().message().find("truncated"), std::string::npos) << w.status().message();
  // A record header cut short, and the same in memory.
  const std::string cut_header = WriteBytes("cut_header.pcap", b.substr(0, b.size() - 114 - 8));
  auto h = Read(cut_header);
  EXPECT_EQ(h.status().message().rfind(cut_header + ": packet 3: ", 0), 0u) << h.status().message();
  auto m = InspectPcapSource(textio::MemorySource(b.substr(0, b.size() - 10)), "mem.pcap");
  EXPECT_EQ(m.status().message().rfind("mem.pcap: packet 3: ", 0), 0u) << m.status().message();
  // A pcapng block cut short.
  const Bytes ng = Pcapng(1, {{0, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))}, {5, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))}});
  auto n = Read(WriteBytes("cut.pcapng", ng.substr(0, ng.size() - 20)));
  EXPECT_NE(n.status().message().find("cut.pcapng: packet 2: "), std::string::npos) << n.status().message();
}

TEST_F(PcapTest, UnsupportedLinkTypeIsNamed) {
  const std::string path = WritePcap("wifi.pcap", DLT_IEEE802_11, {{0, Bytes(40, 'w')}});
  auto w = Read(path);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(),
            path + ": link type 105 (IEEE802_11) is not supported; supported: 1 (EN10MB), 12 (RAW), 228 (IPV4), "
                   "229 (IPV6), 113 (LINUX_SLL), 276 (LINUX_SLL2)");
}

TEST_F(PcapTest, NotAPcapEmptyCaptureAndMissingFile) {
  const std::string text = WriteBytes("notes.txt", "this is not a capture\nat all\n");
  auto w = Read(text);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message().rfind(text + ": not a pcap or pcapng file: ", 0), 0u) << w.status().message();
  EXPECT_FALSE(LooksLikePcap("this is not a capture\n"));
  auto empty_file = Read(WriteBytes("zero.pcap", ""));
  EXPECT_EQ(empty_file.status().message().rfind(Path("zero.pcap") + ": not a pcap or pcapng file: ", 0), 0u)
      << empty_file.status().message();
  const std::string empty = WritePcap("empty.pcap", DLT_EN10MB, {});
  auto e = Read(empty);
  EXPECT_EQ(e.status().message(), empty + ": empty capture (no packets)");
  auto missing = Read(Path("nope.pcap"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(InspectPcapSource(textio::MemorySource(""), "x").status().message(),
            "x: not a pcap or pcapng file: the file is empty");
}

TEST_F(PcapTest, TimesGoingBackwardsAreClampedAndCounted) {
  const std::string path = WritePcap("back.pcap", DLT_EN10MB,
                                     {{1000, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))},
                                      {500, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))},
                                      {400, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))},
                                      {1800, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))}});
  PcapSummary s;
  auto w = Read(path, &s);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->packets[1].at, 0);
  EXPECT_EQ(w->packets[2].at, 0);
  EXPECT_EQ(w->packets[3].at, 800);
  EXPECT_EQ(s.clamped_times, 2u);
  EXPECT_NE(FormatPcapSummary(s).find("2 timestamps went backwards"), std::string::npos) << FormatPcapSummary(s);
}

TEST_F(PcapTest, OptionsDirectionTimingAndLimit) {
  const std::string path = WritePcap("three.pcap", DLT_EN10MB,
                                     {{0, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))},
                                      {7, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))},
                                      {9, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))}});
  PcapOptions o;
  o.direction = "rx";
  o.keep_timing = false;
  auto w = Read(path, nullptr, o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const PacketIo& p : w->packets) {
    EXPECT_TRUE(p.to_guest);
    EXPECT_EQ(p.at, -1);
  }
  o.max_packets = 2;
  EXPECT_EQ(Read(path, nullptr, o).status().message(), path + ": more than 2 packets (the limit per workload)");
  o.max_packets = 3;
  EXPECT_TRUE(Read(path, nullptr, o).ok());
  o.direction = "up";
  EXPECT_EQ(Read(path, nullptr, o).status().message(), path + ": direction must be tx or rx (got 'up')");
}

TEST_F(PcapTest, InspectFromMemoryMatchesTheFile) {
  const std::string path = WritePcap("m.pcap", DLT_EN10MB,
                                     {{0, Ethernet(Ipv4(kA, kB, 6, 1, 2, 60))},
                                      {1'000'000, Ethernet(Ipv4(kA, kC, 6, 1, 2, 1400))}});
  PcapSummary from_file;
  ASSERT_TRUE(Read(path, &from_file).ok());
  auto streamed = InspectPcapSource(textio::MemorySource(Slurp(path)), path);
  ASSERT_TRUE(streamed.ok()) << streamed.status().ToString();
  EXPECT_EQ(*streamed, from_file);
  const std::string text = FormatPcapSummary(*streamed);
  EXPECT_NE(text.find("2 packets, 1488 frame bytes over 0.001000 s"), std::string::npos) << text;
  EXPECT_NE(text.find("link type 1 (EN10MB)"), std::string::npos) << text;
  const auto j = nlohmann::json::parse(PcapSummaryJson(*streamed));
  EXPECT_EQ(j["packets"], 2);
  EXPECT_EQ(j["flows"], 2);
  EXPECT_EQ(j["frame_size"]["max"], 1414);
  EXPECT_EQ(j["duration_ns"], 1'000'000);
}

// A source that fails after its first bytes: its error is what is reported.
class FailingSource : public textio::ByteSource {
 public:
  explicit FailingSource(std::string head) : head_(std::move(head)) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ == head_.size()) return Unavailable("disk on fire");
    n = std::min(n, head_.size() - pos_);
    std::memcpy(buf, head_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string head_;
  size_t pos_ = 0;
};

TEST_F(PcapTest, StreamingInspectReportsTheSourcesError) {
  const Bytes b = Slurp(WritePcap("s.pcap", DLT_EN10MB, {{0, Ethernet(Ipv4(kA, kB, 6, 1, 2, 100))}}));
  auto st = InspectPcapSource(std::make_unique<FailingSource>(b.substr(0, 50)), "s.pcap");
  EXPECT_EQ(st.status().code(), StatusCode::kUnavailable) << st.status().ToString();
  EXPECT_EQ(st.status().message(), "s.pcap: disk on fire");
  auto bad = InspectPcapSource(textio::MemorySource("hello\n"), "t.txt");
  EXPECT_EQ(bad.status().message().rfind("t.txt: not a pcap or pcapng file: ", 0), 0u) << bad.status().message();
}

// `kreplay trace inspect` sniffs the file's first 64 KiB cut after their
// last '\n' (controller/cli/trace_cmd.cc). A pcap's magic has no 0x0a byte,
// so whatever the cut keeps starts with it; a pcapng's block type holds 0x0a
// at bytes 0 and 3, so the cut keeps at least those 4 bytes.
std::string_view CutLikeTraceInspect(std::string_view file) {
  std::string_view head = file.substr(0, 64 * 1024);
  if (head.size() < file.size()) {
    const size_t nl = head.rfind('\n');
    if (nl != std::string_view::npos) head = head.substr(0, nl + 1);
  }
  return head;
}

TEST_F(PcapTest, MagicSurvivesTheTraceInspectHeadCut) {
  for (bool nano : {true, false}) {
    std::vector<Rec> recs;
    for (int i = 0; i < 200; ++i) recs.push_back({i * 1000, Ethernet(Ipv4(kA, kB, 6, 1, 2, 1000))});  // newline payloads
    const Bytes file = Slurp(WritePcap("big.pcap", DLT_EN10MB, recs, nano));
    ASSERT_GT(file.size(), 64u * 1024);
    const std::string_view head = CutLikeTraceInspect(file);
    EXPECT_EQ(head.back(), '\n');
    EXPECT_TRUE(LooksLikePcap(head));
  }
  // The worst case: no newline after the pcapng block type.
  Bytes ng = Pcapng(1, {{0, Bytes(70000, 'x')}});
  const std::string_view head = CutLikeTraceInspect(ng);
  EXPECT_EQ(head.size(), 4u);
  EXPECT_TRUE(LooksLikePcap(head));
  // Each magic, both byte orders.
  for (uint32_t m : {0xa1b2c3d4u, 0xa1b23c4du, 0xa1b2cd34u}) {
    Bytes le, be;
    PutLE(le, m, 4);
    PutLE(be, __builtin_bswap32(m), 4);
    EXPECT_TRUE(LooksLikePcap(le)) << m;
    EXPECT_TRUE(LooksLikePcap(be)) << m;
  }
  Bytes wrong_bom = Pcapng(1, {});
  wrong_bom[8] = 0x11;
  EXPECT_FALSE(LooksLikePcap(wrong_bom));
  EXPECT_FALSE(LooksLikePcap("\xd4\xc3\xb2"));
}

}  // namespace
}  // namespace kreplay::virtio
