#include "services/blocktrace/synth.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <set>

#include "services/core/strings.h"
#include "services/workload/synth.h"

namespace kreplay::blocktrace {
namespace {

using workload::BlockOp;

// log1p(x)/x and expm1(x)/x, accurate near 0 where log(1 + x) loses digits.
// Series below 1e-4 (truncation error < 1e-20 relative).
double Helper1(double x) {
  if (std::fabs(x) > 1e-4) return sim::DetLog(1.0 + x) / x;
  return 1.0 - x * (0.5 - x * (1.0 / 3.0 - x * (0.25 - x * 0.2)));
}
double Helper2(double x) {
  if (std::fabs(x) > 1e-4) return (sim::DetExp(x) - 1.0) / x;
  return 1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x / 120.0)));
}

}  // namespace

ZipfSampler::ZipfSampler(uint64_t n, double s) : n_(n), s_(s) {
  h_integral_x1_ = HIntegral(1.5) - 1.0;
  h_integral_n_ = HIntegral(static_cast<double>(n_) + 0.5);
  cutoff_ = 2.0 - HIntegralInverse(HIntegral(2.5) - H(2.0));
}

double ZipfSampler::H(double x) const { return sim::DetExp(-s_ * sim::DetLog(x)); }

double ZipfSampler::HIntegral(double x) const {
  double lx = sim::DetLog(x);
  return Helper2((1.0 - s_) * lx) * lx;
}

double ZipfSampler::HIntegralInverse(double x) const {
  double t = x * (1.0 - s_);
  if (t < -1.0) t = -1.0;  // rounding guard: the true value is > -1
  return sim::DetExp(Helper1(t) * x);
}

uint64_t ZipfSampler::Sample(sim::Rng& rng) const {
  // u uniform over (HIntegral(1.5) - 1, HIntegral(n + 0.5)]: the area under a
  // hat that dominates k^-s; invert, round to the nearest rank, and accept
  // unless u fell in the sliver between the hat and the bar of rank k.
  for (;;) {
    double u = h_integral_n_ + rng.Uniform() * (h_integral_x1_ - h_integral_n_);
    double x = HIntegralInverse(u);
    double kd = x + 0.5;
    uint64_t k = kd < 1.0 ? 1 : kd >= static_cast<double>(n_) ? n_ : static_cast<uint64_t>(kd);
    if (static_cast<double>(k) - x <= cutoff_ || u >= HIntegral(static_cast<double>(k) + 0.5) - H(static_cast<double>(k)))
      return k;
  }
}

namespace {

constexpr double kMaxRequests = 1e8;

Status Err(const YAML::Node& n, const std::string& path, const std::string& msg) {
  return InvalidArgument(std::to_string(n.Mark().line + 1) + ": " + path + ": " + msg);
}

Status CheckKeys(const YAML::Node& node, const std::string& path, const std::set<std::string>& allowed) {
  if (!node.IsMap()) return Err(node, path, "expected a mapping");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (!allowed.count(key)) {
      return Err(it->first, path + "." + key,
                 "unknown key (allowed: " + Join(std::vector<std::string>(allowed.begin(), allowed.end()), ", ") + ")");
    }
  }
  return OkStatus();
}

StatusOr<double> Number(const YAML::Node& n, const std::string& path, double lo, double hi) {
  std::optional<double> v;
  if (n.IsScalar()) v = ParseDouble(n.Scalar());
  if (!v || !(*v >= lo && *v <= hi)) {
    return Err(n, path, "expected a number in " + FormatDouble(lo) + ".." + FormatDouble(hi) +
                            (n.IsScalar() ? " (got '" + n.Scalar() + "')" : std::string()));
  }
  return *v;
}

StatusOr<uint64_t> Bytes(const YAML::Node& n, const std::string& path, uint64_t lo, uint64_t hi) {
  if (!n.IsScalar()) return Err(n, path, "expected a size such as 4KiB");
  auto v = ParseByteSize(n.Scalar());
  if (!v.ok()) return Err(n, path, v.status().message());
  if (*v < lo || *v > hi) {
    return Err(n, path, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + " bytes (got '" +
                            n.Scalar() + "')");
  }
  return *v;
}

StatusOr<BlockSynthComponent> ParseComponent(const YAML::Node& n, const std::string& path) {
  BlockSynthComponent c;
  if (!n.IsMap() || !n["kind"]) return Err(n, path + ".kind", "missing (zipf, scan, stream)");
  const std::string kind = n["kind"].Scalar();
  std::set<std::string> keys = {"kind", "weight", "volume", "start", "footprint", "size", "read_fraction"};
  if (kind == "zipf") {
    c.kind = BlockSynthComponent::Kind::kZipf;
    keys.insert({"skew", "scatter"});
  } else if (kind == "scan") {
    c.kind = BlockSynthComponent::Kind::kScan;
  } else if (kind == "stream") {
    c.kind = BlockSynthComponent::Kind::kStream;
    keys.insert({"streams", "run"});
  } else {
    return Err(n["kind"], path + ".kind", "unknown kind '" + kind + "' (allowed: zipf, scan, stream)");
  }
  KREPLAY_RETURN_IF_ERROR(CheckKeys(n, path, keys));
  if (n["weight"]) {
    KREPLAY_ASSIGN_OR_RETURN(c.weight, Number(n["weight"], path + ".weight", 1e-9, 1e9));
  }
  if (n["volume"]) {
    KREPLAY_ASSIGN_OR_RETURN(double v, Number(n["volume"], path + ".volume", 0, 1023));
    if (v != std::floor(v)) return Err(n["volume"], path + ".volume", "expected an integer");
    c.volume = static_cast<uint32_t>(v);
  }
  if (n["size"]) {
    KREPLAY_ASSIGN_OR_RETURN(uint64_t size, Bytes(n["size"], path + ".size", 512, 16u << 20));
    c.size = static_cast<uint32_t>(size);
  }
  constexpr uint64_t kMaxRegion = uint64_t{1} << 56;
  if (n["start"]) {
    KREPLAY_ASSIGN_OR_RETURN(c.start, Bytes(n["start"], path + ".start", 0, kMaxRegion));
  }
  if (!n["footprint"]) return Err(n, path + ".footprint", "missing");
  KREPLAY_ASSIGN_OR_RETURN(c.footprint, Bytes(n["footprint"], path + ".footprint", c.size, kMaxRegion));
  if (n["read_fraction"]) {
    KREPLAY_ASSIGN_OR_RETURN(c.read_fraction, Number(n["read_fraction"], path + ".read_fraction", 0, 1));
  }
  if (n["skew"]) {
    KREPLAY_ASSIGN_OR_RETURN(c.skew, Number(n["skew"], path + ".skew", 0, 5));
  }
  if (n["scatter"]) {
    if (!n["scatter"].IsScalar() || (n["scatter"].Scalar() != "true" && n["scatter"].Scalar() != "false"))
      return Err(n["scatter"], path + ".scatter", "expected true or false");
    c.scatter = n["scatter"].Scalar() == "true";
  }
  if (n["streams"]) {
    KREPLAY_ASSIGN_OR_RETURN(double s, Number(n["streams"], path + ".streams", 1, 4096));
    if (s != std::floor(s)) return Err(n["streams"], path + ".streams", "expected an integer");
    c.streams = static_cast<uint32_t>(s);
  }
  if (n["run"]) {
    KREPLAY_ASSIGN_OR_RETURN(c.run, Bytes(n["run"], path + ".run", c.size, c.footprint));
  }
  return c;
}

uint64_t Gcd(uint64_t a, uint64_t b) { return std::gcd(a, b); }

// A multiplier coprime with n, near n / golden ratio: slot = (rank * stride)
// mod n is then a bijection that spreads neighbouring ranks apart.
uint64_t Stride(uint64_t n) {
  if (n <= 2) return 1;
  uint64_t s = static_cast<uint64_t>(static_cast<double>(n) * 0.6180339887498949) | 1;
  while (Gcd(s, n) != 1) s += 2;
  return s % n;
}

uint64_t MulMod(uint64_t a, uint64_t b, uint64_t m) {
  __extension__ typedef unsigned __int128 U128;
  return static_cast<uint64_t>(static_cast<U128>(a) * b % m);
}

struct ComponentState {
  const BlockSynthComponent* c;
  sim::Rng rng;
  uint64_t slots;
  std::optional<ZipfSampler> zipf;
  uint64_t stride = 1;
  uint64_t scan_pos = 0;
  std::vector<uint64_t> cursor, left;  // streams: next slot, slots left in this run
};

}  // namespace


StatusOr<BlockSynthSpec> ParseBlockSynthSpec(const YAML::Node& node, const std::string& field) {
  BlockSynthSpec s;
  KREPLAY_RETURN_IF_ERROR(CheckKeys(node, field, {"requests", "duration", "arrival", "components"}));
  if (node["requests"]) {
    KREPLAY_ASSIGN_OR_RETURN(double r, Number(node["requests"], field + ".requests", 1, kMaxRequests));
    if (r != std::floor(r)) return Err(node["requests"], field + ".requests", "expected an integer");
    s.requests = static_cast<uint64_t>(r);
  }
  if (node["duration"]) {
    if (!node["duration"].IsScalar()) return Err(node["duration"], field + ".duration", "expected a duration such as 10s");
    auto d = workload::ParseDuration(node["duration"].Scalar());
    if (!d.ok()) return Err(node["duration"], field + ".duration", d.status().message());
    if (*d <= 0) return Err(node["duration"], field + ".duration", "must be > 0");
    s.duration_ns = *d;
  }
  if (s.requests == 0 && s.duration_ns == 0) return Err(node, field + ".requests", "requests or duration is required");
  if (!node["arrival"]) return Err(node, field + ".arrival", "missing ({kind: poisson|fixed, rate: N})");
  const YAML::Node a = node["arrival"];
  KREPLAY_RETURN_IF_ERROR(CheckKeys(a, field + ".arrival", {"kind", "rate"}));
  std::string kind = a["kind"] ? a["kind"].Scalar() : "poisson";
  if (kind != "poisson" && kind != "fixed")
    return Err(a["kind"], field + ".arrival.kind", "unknown '" + kind + "' (allowed: poisson, fixed)");
  s.poisson = kind == "poisson";
  if (!a["rate"]) return Err(a, field + ".arrival.rate", "missing (requests per second)");
  KREPLAY_ASSIGN_OR_RETURN(s.rate, Number(a["rate"], field + ".arrival.rate", 1e-6, 1e9));
  if (s.requests == 0 && static_cast<double>(s.duration_ns) / 1e9 * s.rate > kMaxRequests)
    return Err(node["duration"], field + ".duration", "duration x rate exceeds 1e8 requests");
  const YAML::Node cs = node["components"];
  if (!cs || !cs.IsSequence() || cs.size() == 0) return Err(node, field + ".components", "expected a non-empty list");
  for (size_t i = 0; i < cs.size(); ++i) {
    KREPLAY_ASSIGN_OR_RETURN(BlockSynthComponent c, ParseComponent(cs[i], field + ".components[" + std::to_string(i) + "]"));
    s.components.push_back(c);
  }
  return s;
}

workload::BlockWorkload GenerateBlockSynthetic(const BlockSynthSpec& spec, uint64_t seed) {
  sim::Rng root(seed);
  sim::Rng arrivals = root.Fork(1), choice = root.Fork(2);
  std::vector<ComponentState> st;
  std::vector<double> cum;  // cumulative weights
  double total = 0;
  uint32_t nvol = 1;
  for (size_t i = 0; i < spec.components.size(); ++i) {
    const BlockSynthComponent& c = spec.components[i];
    ComponentState s{&c, root.Fork(100 + i), c.footprint / c.size, std::nullopt, 1, 0, {}, {}};
    if (c.kind == BlockSynthComponent::Kind::kZipf) {
      s.zipf.emplace(s.slots, c.skew);
      if (c.scatter) s.stride = Stride(s.slots);
    }
    if (c.kind == BlockSynthComponent::Kind::kStream) {
      s.cursor.assign(c.streams, 0);
      s.left.assign(c.streams, 0);  // 0: pick a start on first use
    }
    st.push_back(std::move(s));
    total += c.weight;
    cum.push_back(total);
    nvol = std::max(nvol, c.volume + 1);
  }
  workload::BlockWorkload w;
  for (uint32_t v = 0; v < nvol; ++v) w.volumes.push_back("synth" + std::to_string(v));
  w.has_task_ids = true;
  double clock = 0;
  const double mean_gap_ns = 1e9 / spec.rate;
  for (uint64_t i = 0;; ++i) {
    if (spec.requests && i >= spec.requests) break;
    int64_t t = static_cast<int64_t>(clock);
    if (spec.duration_ns && t >= spec.duration_ns) break;
    clock = spec.poisson ? clock + arrivals.Exponential(mean_gap_ns) : static_cast<double>(i + 1) * mean_gap_ns;
    size_t k = 0;
    if (st.size() > 1) {
      double u = choice.Uniform() * total;
      while (k + 1 < st.size() && u >= cum[k]) ++k;
    }
    ComponentState& s = st[k];
    const BlockSynthComponent& c = *s.c;
    uint64_t slot = 0;
    switch (c.kind) {
      case BlockSynthComponent::Kind::kZipf:
        slot = MulMod(s.zipf->Sample(s.rng) - 1, s.stride, s.slots);
        break;
      case BlockSynthComponent::Kind::kScan:
        slot = s.scan_pos;
        s.scan_pos = s.scan_pos + 1 == s.slots ? 0 : s.scan_pos + 1;
        break;
      case BlockSynthComponent::Kind::kStream: {
        uint32_t j = c.streams > 1 ? static_cast<uint32_t>(s.rng.Below(c.streams)) : 0;
        uint64_t run_slots = (c.run ? c.run : c.footprint) / c.size;
        if (s.left[j] == 0 || s.cursor[j] >= s.slots) {
          s.cursor[j] = s.rng.Below(s.slots);
          s.left[j] = run_slots;
        }
        slot = s.cursor[j]++;
        --s.left[j];
        break;
      }
    }
    workload::BlockRequest r;
    r.time_ns = t;
    r.offset = c.start + slot * c.size;
    r.bytes = c.size;
    r.volume = c.volume;
    r.task = static_cast<uint32_t>(k + 1);
    r.op = s.rng.Bernoulli(c.read_fraction) ? BlockOp::kRead : BlockOp::kWrite;
    w.requests.push_back(r);
  }
  return w;
}

}  // namespace kreplay::blocktrace
