#include "services/family/family.h"

namespace kreplay::family {

Status Catalog::RegisterFamily(FamilyInfo info) {
  if (families_.count(info.name)) return Status(StatusCode::kAlreadyExists, "family registered twice: " + info.name);
  if (!info.trace_family.empty() && FindByTraceFamily(info.trace_family))
    return Status(StatusCode::kAlreadyExists, "trace family registered twice: " + info.trace_family);
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
    if (f->trace_family == trace_family) return f.get();
  return nullptr;
}

std::vector<const FamilyInfo*> Catalog::List() const {
  std::vector<const FamilyInfo*> out;
  for (const auto& [_, f] : families_) out.push_back(f.get());
  return out;
}

}  // namespace kreplay::family
