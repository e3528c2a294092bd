#include "workers/models/memory/workload/foreground.h"

#include <algorithm>
#include <cmath>

#include "services/core/strings.h"
#include "services/core/units.h"
#include "services/yamlread/yaml_reader.h"
#include "workers/models/memory/mm/zone.h"

namespace kreplay::memory {
namespace {

constexpr uint64_t kMaxCalls = 1'000'000;
constexpr uint64_t kMaxPages = uint64_t{1} << 32;
constexpr sim::Duration kMaxTime = kMaxSpecTime;

// A size in pages: a plain integer, or bytes with a suffix rounded up.
StatusOr<uint64_t> SizePages(const yamlread::YamlReader& r, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) return r.Error(n, field, "expected pages (an integer) or a size such as 64MiB");
  const std::string text(Trim(n.Scalar()));
  uint64_t pages = 0;
  if (auto v = ParseUint(text)) {
    pages = *v;
  } else {
    auto b = ParseByteSize(text);
    if (!b.ok()) return r.Error(n, field, "expected pages (an integer) or a size such as 64MiB (got '" + text + "')");
    pages = (*b + 4095) / 4096;
  }
  if (pages == 0 || pages > kMaxPages) return r.Error(n, field, "must be 1 .. 2^32 pages (got '" + text + "')");
  return pages;
}

}  // namespace

uint32_t DmaAlignOrder(uint64_t pages) { return mm::GetOrder(pages); }

StatusOr<ForegroundSpec> ParseForegroundSpec(const YAML::Node& node, const std::string& field) {
  const yamlread::YamlReader r("");
  ForegroundSpec s;
  KREPLAY_RETURN_IF_ERROR(r.CheckKeys(node, field,
                                    {"sizes", "per_size", "order", "arrival", "start", "hold", "area", "align",
                                     "timeout"}));
  KREPLAY_ASSIGN_OR_RETURN(YAML::Node sizes, r.List(node, "sizes", field + ".sizes"));
  for (size_t i = 0; i < sizes.size(); ++i) {
    KREPLAY_ASSIGN_OR_RETURN(uint64_t p, SizePages(r, sizes[i], field + ".sizes[" + std::to_string(i) + "]"));
    s.sizes.push_back(p);
  }
  if (node["per_size"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t n, r.Int(node, "per_size", field + ".per_size", 1, kMaxCalls));
    s.per_size = static_cast<uint32_t>(n);
  }
  if (s.calls() > kMaxCalls)
    return r.Error(node["sizes"], field + ".per_size", "sizes x per_size exceeds 1e6 calls");
  if (node["order"]) {
    KREPLAY_ASSIGN_OR_RETURN(std::string o, r.String(node, "order", field + ".order"));
    if (o != "shuffled" && o != "as_listed")
      return r.Error(node["order"], field + ".order", "unknown '" + o + "' (allowed: shuffled, as_listed)");
    s.shuffled = o == "shuffled";
  }
  if (node["arrival"]) {
    const YAML::Node a = node["arrival"];
    KREPLAY_RETURN_IF_ERROR(r.CheckKeys(a, field + ".arrival", {"kind", "rate"}));
    if (a["kind"]) {
      KREPLAY_ASSIGN_OR_RETURN(std::string k, r.String(a, "kind", field + ".arrival.kind"));
      if (k != "fixed" && k != "poisson")
        return r.Error(a["kind"], field + ".arrival.kind", "unknown '" + k + "' (allowed: fixed, poisson)");
      s.poisson = k == "poisson";
    }
    KREPLAY_ASSIGN_OR_RETURN(s.rate, r.Number(a, "rate", field + ".arrival.rate", 1e-6, 1e6));
  }
  if (node["start"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.start, r.Duration(node, "start", field + ".start", 0, kMaxTime));
  }
  if (node["hold"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.hold, r.Duration(node, "hold", field + ".hold", 0, kMaxTime));
  }
  if (node["timeout"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.timeout, r.Duration(node, "timeout", field + ".timeout", 0, kMaxTime));
  }
  if (node["area"]) {
    KREPLAY_ASSIGN_OR_RETURN(s.area, r.String(node, "area", field + ".area", true));
  }
  if (node["align"]) {
    const YAML::Node a = node["align"];
    if (!(a.IsScalar() && a.Scalar() == "dma")) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t o, r.Int(node, "align", field + ".align", 0, 31));
      s.align = static_cast<uint32_t>(o);
    }
  }
  return s;
}

Foreground GenerateForeground(const ForegroundSpec& spec, sim::Rng rng) {
  sim::Rng order = rng.Fork(1), arrivals = rng.Fork(2);
  std::vector<uint64_t> sizes;
  sizes.reserve(spec.calls());
  for (uint64_t p : spec.sizes)
    for (uint32_t i = 0; i < spec.per_size; ++i) sizes.push_back(p);
  if (spec.shuffled) {  // Fisher-Yates
    for (size_t i = sizes.size(); i > 1; --i) std::swap(sizes[i - 1], sizes[order.Below(i)]);
  }
  Foreground f;
  f.areas = {spec.area};
  const double mean_ns = 1e9 / spec.rate;
  double t = static_cast<double>(spec.start);
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i > 0) t += spec.poisson ? arrivals.Exponential(mean_ns) : mean_ns;
    ContigCall c;
    c.at = static_cast<sim::Time>(std::llround(t));
    c.pages = sizes[i];
    c.align = spec.align.value_or(DmaAlignOrder(sizes[i]));
    c.hold = spec.hold;
    c.timeout = spec.timeout;
    f.calls.push_back(c);
  }
  return f;
}

std::string CanonicalForegroundText(const Foreground& f) {
  std::string out = "areas";
  for (const auto& a : f.areas) {  // length-prefixed: any name
    out += ' ';
    out += std::to_string(a.size());
    out += ':';
    out += a;
  }
  out += "\n";
  for (const ContigCall& c : f.calls) {
    out += std::to_string(c.at) + " " + std::to_string(c.pages) + " " + std::to_string(c.align) + " " +
           std::to_string(c.area) + " " + std::to_string(c.hold) + " " + std::to_string(c.timeout) + "\n";
  }
  return out;
}

}  // namespace kreplay::memory
