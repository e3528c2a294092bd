#include "workers/models/virtio/workload/size_mix.h"

#include <algorithm>

#include "services/core/strings.h"
#include "services/core/units.h"

namespace kreplay::virtio {
namespace {

StatusOr<uint32_t> OneSize(const yamlread::YamlReader& r, const YAML::Node& n, const std::string& field,
                           const SizeRule& rule) {
  if (!n.IsScalar()) return r.Error(n, field, "expected a size such as 4KiB");
  auto b = ParseByteSize(n.Scalar());
  if (!b.ok()) return r.Error(n, field, b.status().message());
  if (*b < rule.lo || *b > rule.hi)
    return r.Error(n, field, "must be in " + std::to_string(rule.lo) + ".." + std::to_string(rule.hi) +
                                 " bytes (got '" + n.Scalar() + "')");
  if (*b % rule.multiple != 0)
    return r.Error(n, field, "must be a multiple of " + std::to_string(rule.multiple) + " bytes (got '" +
                                 n.Scalar() + "')");
  return static_cast<uint32_t>(*b);
}

}  // namespace

uint32_t SizeMix::min() const {
  uint32_t m = UINT32_MAX;
  for (const auto& [s, w] : sizes) m = std::min(m, s);
  return m;
}

uint32_t SizeMix::max() const {
  uint32_t m = 0;
  for (const auto& [s, w] : sizes) m = std::max(m, s);
  return m;
}

uint32_t SizeMix::Pick(sim::Rng& rng) const {
  if (sizes.size() == 1) return sizes[0].first;
  double total = 0;
  for (const auto& [s, w] : sizes) total += w;
  double u = rng.Uniform() * total;
  for (const auto& [s, w] : sizes) {
    if (u < w) return s;
    u -= w;
  }
  return sizes.back().first;  // rounding: u landed on the total
}

StatusOr<bool> ParseArrivals(const yamlread::YamlReader& r, const YAML::Node& node, const std::string& field,
                             double rate, const std::string& rate_key, const std::string& without) {
  if (!node["arrivals"]) return false;
  KREPLAY_ASSIGN_OR_RETURN(std::string a, r.String(node, "arrivals", field + ".arrivals"));
  if (a != "uniform" && a != "poisson")
    return r.Error(node["arrivals"], field + ".arrivals", "unknown '" + a + "' (allowed: uniform, poisson)");
  if (rate == 0)
    return r.Error(node["arrivals"], field + ".arrivals", "needs " + rate_key + " > 0 (" + without + " no arrivals)");
  return a == "poisson";
}

StatusOr<SizeMix> ParseSizeMix(const yamlread::YamlReader& r, const YAML::Node& node, const std::string& field,
                               const SizeRule& rule) {
  SizeMix m;
  if (node.IsScalar()) {
    KREPLAY_ASSIGN_OR_RETURN(uint32_t s, OneSize(r, node, field, rule));
    m.sizes.emplace_back(s, 1.0);
    return m;
  }
  if (!node.IsMap() || node.size() == 0)
    return r.Error(node, field, "expected a size such as 4KiB, or a map of size -> weight such as {4KiB: 70, 64KiB: 30}");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string sub = field + "." + key;
    KREPLAY_ASSIGN_OR_RETURN(uint32_t s, OneSize(r, it->first, sub, rule));
    for (const auto& [t, w] : m.sizes)
      if (t == s) return r.Error(it->first, sub, "size " + std::to_string(s) + " bytes given twice");
    std::optional<double> w;
    if (it->second.IsScalar()) w = ParseDouble(Trim(it->second.Scalar()));
    if (!w || !(*w > 0 && *w <= 1e9))
      return r.Error(it->second, sub, "weight must be a number in (0, 1e9]");
    m.sizes.emplace_back(s, *w);
  }
  return m;
}

}  // namespace kreplay::virtio
