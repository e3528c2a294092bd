#include "services/model/registry.h"

namespace kreplay::model {

Status Registry::RegisterFamily(const std::string& family) {
  if (!families_.insert(family).second) return Status(StatusCode::kAlreadyExists, "family registered twice: " + family);
  return OkStatus();
}

Status Registry::Register(ModelInfo info) {
  if (!families_.count(info.family))
    return InvalidArgument("model " + info.name + ": unknown family '" + info.family + "' (register the family first)");
  if (models_.count(info.name)) return Status(StatusCode::kAlreadyExists, "model registered twice: " + info.name);
  std::string name = info.name;
  models_[name] = std::make_unique<ModelInfo>(std::move(info));
  return OkStatus();
}

const ModelInfo* Registry::Find(const std::string& name) const {
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second.get();
}

std::vector<const ModelInfo*> Registry::List() const {
  std::vector<const ModelInfo*> out;
  for (const auto& [_, m] : models_) out.push_back(m.get());
  return out;
}

std::vector<std::string> Registry::Names() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : models_) out.push_back(n);
  return out;
}

}  // namespace kreplay::model
