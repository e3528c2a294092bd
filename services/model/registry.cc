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
  if (reserved_.count(info.name))
    return Status(StatusCode::kAlreadyExists, "model " + info.name + " is reserved: " + reserved_.at(info.name));
  std::string name = info.name;
  models_[name] = std::make_unique<ModelInfo>(std::move(info));
  return OkStatus();
}

Status Registry::Reserve(const std::string& name, const std::string& family, const std::string& why) {
  if (!families_.count(family)) return InvalidArgument("reserving " + name + ": unknown family '" + family + "'");
  if (name.rfind(family + ".", 0) != 0 || name.size() <= family.size() + 1)
    return InvalidArgument("reserving " + name + ": a model name of family " + family + " starts with '" + family + ".'");
  if (models_.count(name) || reserved_.count(name))
    return Status(StatusCode::kAlreadyExists, "model name " + name + " is already taken");
  reserved_[name] = why;
  return OkStatus();
}

const std::string* Registry::Reserved(const std::string& name) const {
  auto it = reserved_.find(name);
  return it == reserved_.end() ? nullptr : &it->second;
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
