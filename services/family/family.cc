#include "services/family/family.h"

#include <algorithm>
#include <filesystem>

#include "services/core/strings.h"

namespace kreplay::family {

std::optional<std::string> SpecString(const SpecEntry& e, const std::string& field, SpecErrors& errors) {
  if (!e.value.IsScalar()) {
    errors.Error(e.value.IsNull() ? e.key : e.value, field, "expected a string");
    return std::nullopt;
  }
  return e.value.Scalar();
}

std::optional<uint64_t> SpecUint(const YAML::Node& n, const std::string& field, SpecErrors& errors) {
  if (n.IsScalar()) {
    if (auto v = ParseUint(n.Scalar())) return v;
  }
  errors.Error(n, field, "expected a non-negative integer" + (n.IsScalar() ? ", got '" + n.Scalar() + "'" : ""));
  return std::nullopt;
}

std::string ResolveSpecPath(const std::string& base_dir, const std::string& p) {
  std::filesystem::path fp(p);
  if (fp.is_relative() && !base_dir.empty()) fp = std::filesystem::path(base_dir) / fp;
  return fp.lexically_normal().string();
}

Status Catalog::RegisterFamily(FamilyInfo info) {
  if (families_.count(info.name)) return Status(StatusCode::kAlreadyExists, "family registered twice: " + info.name);
  if (!info.trace_family.empty() && FindByTraceFamily(info.trace_family))
    return Status(StatusCode::kAlreadyExists, "trace family registered twice: " + info.trace_family);
  for (const auto& k : info.kinds)
    if (FindKind(k.key).first)
      return Status(StatusCode::kAlreadyExists, "workload kind registered twice: " + k.key);
  if (info.trace_inspector &&
      (info.trace_inspector->what.empty() || !info.trace_inspector->sniff || !info.trace_inspector->add_flags))
    return InvalidArgument("family " + info.name + ": trace_inspector needs what, sniff and add_flags");
  KREPLAY_RETURN_IF_ERROR(models_.RegisterFamily(info.name));
  std::string name = info.name;
  families_[name] = std::make_unique<FamilyInfo>(std::move(info));
  return OkStatus();
}

const FamilyInfo* Catalog::Find(const std::string& name) const {
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : it->second.get();
}

const FamilyInfo* Catalog::FindByTraceFamily(const std::string& trace_family) const {
  if (trace_family.empty()) return nullptr;  // families without traces have none
  for (const auto& [_, f] : families_)
    if (f->trace_family == trace_family ||
        std::find(f->legacy_trace_families.begin(), f->legacy_trace_families.end(), trace_family) !=
            f->legacy_trace_families.end())
      return f.get();
  return nullptr;
}

std::pair<const FamilyInfo*, const WorkloadKind*> Catalog::FindKind(const std::string& key) const {
  for (const auto& [_, f] : families_)
    for (const auto& k : f->kinds)
      if (k.key == key) return {f.get(), &k};
  return {nullptr, nullptr};
}

std::vector<const FamilyInfo*> Catalog::List() const {
  std::vector<const FamilyInfo*> out;
  for (const auto& [_, f] : families_) out.push_back(f.get());
  return out;
}

}  // namespace kreplay::family
