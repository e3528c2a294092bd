#include "services/model/params.h"

#include <cmath>

#include "services/core/strings.h"

namespace kreplay::model {

const char* ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kInt: return "int";
    case ParamType::kDouble: return "double";
    case ParamType::kBool: return "bool";
    case ParamType::kEnum: return "enum";
    case ParamType::kString: return "string";
  }
  return "?";
}

std::string ParamValueText(const ParamValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return FormatDouble(*d);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return std::get<std::string>(v);
}

namespace {
const ParamValue& Get(const std::map<std::string, ParamValue>& m, const std::string& name) {
  auto it = m.find(name);
  KREPLAY_CHECK(it != m.end(), "unknown parameter " + name);
  return it->second;
}
}  // namespace

int64_t ParamSet::Int(const std::string& name) const {
  const auto& v = Get(values_, name);
  KREPLAY_CHECK(std::holds_alternative<int64_t>(v), name + " is not an int");
  return std::get<int64_t>(v);
}

double ParamSet::Double(const std::string& name) const {
  const auto& v = Get(values_, name);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  KREPLAY_CHECK(std::holds_alternative<double>(v), name + " is not a number");
  return std::get<double>(v);
}

bool ParamSet::Bool(const std::string& name) const {
  const auto& v = Get(values_, name);
  KREPLAY_CHECK(std::holds_alternative<bool>(v), name + " is not a bool");
  return std::get<bool>(v);
}

const std::string& ParamSet::Str(const std::string& name) const {
  const auto& v = Get(values_, name);
  KREPLAY_CHECK(std::holds_alternative<std::string>(v), name + " is not a string");
  return std::get<std::string>(v);
}

std::string ParamSet::Canonical() const {
  std::string out;
  for (const auto& [k, v] : values_) {
    if (!out.empty()) out += ';';
    out += k;
    out += '=';
    out += ParamValueText(v);
  }
  return out;
}

StatusOr<ParamSet> ResolveParams(const std::vector<ParamSpec>& specs,
                                 const std::map<std::string, ParamValue>& given,
                                 const std::string& prefix) {
  std::vector<std::string> errors;
  std::map<std::string, ParamValue> out;
  std::map<std::string, const ParamSpec*> by_name;
  for (const auto& s : specs) by_name[s.name] = &s;
  for (const auto& [name, value] : given) {
    if (!by_name.count(name)) {
      std::vector<std::string> names;
      for (const auto& s : specs) names.push_back(s.name);
      errors.push_back(prefix + "." + name + ": unknown parameter (known: " + Join(names, ", ") + ")");
    }
  }
  for (const auto& s : specs) {
    auto it = given.find(s.name);
    ParamValue v = it == given.end() ? s.default_value : it->second;
    const std::string field = prefix + "." + s.name;
    bool type_ok = true;
    switch (s.type) {
      case ParamType::kInt:
        if (auto* d = std::get_if<double>(&v); d && std::floor(*d) == *d && std::fabs(*d) < 9e15)
          v = static_cast<int64_t>(*d);
        type_ok = std::holds_alternative<int64_t>(v);
        break;
      case ParamType::kDouble:
        if (auto* i = std::get_if<int64_t>(&v)) v = static_cast<double>(*i);
        type_ok = std::holds_alternative<double>(v);
        break;
      case ParamType::kBool:
        type_ok = std::holds_alternative<bool>(v);
        break;
      case ParamType::kEnum:
      case ParamType::kString:
        type_ok = std::holds_alternative<std::string>(v);
        break;
    }
    if (!type_ok) {
      errors.push_back(field + ": expected " + ParamTypeName(s.type) + ", got '" + ParamValueText(v) + "'");
      continue;
    }
    if (s.type == ParamType::kInt || s.type == ParamType::kDouble) {
      double x = s.type == ParamType::kInt ? static_cast<double>(std::get<int64_t>(v)) : std::get<double>(v);
      if ((s.min && x < *s.min) || (s.max && x > *s.max)) {
        errors.push_back(field + ": " + ParamValueText(v) + " is out of bounds [" +
                         (s.min ? FormatDouble(*s.min) : "-inf") + ", " +
                         (s.max ? FormatDouble(*s.max) : "inf") + "]" + (s.unit.empty() ? "" : " " + s.unit));
        continue;
      }
    }
    if (s.power_of_two && s.type == ParamType::kInt) {
      const int64_t x = std::get<int64_t>(v);
      if (x <= 0 || (x & (x - 1)) != 0) {
        errors.push_back(field + ": " + ParamValueText(v) + " is not a power of two");
        continue;
      }
    }
    if (s.type == ParamType::kEnum) {
      const auto& str = std::get<std::string>(v);
      bool found = false;
      for (const auto& c : s.choices) found |= c == str;
      if (!found) {
        errors.push_back(field + ": '" + str + "' is not one of: " + Join(s.choices, ", "));
        continue;
      }
    }
    out[s.name] = v;
  }
  if (!errors.empty()) return InvalidArgument(Join(errors, "\n"));
  return ParamSet(std::move(out));
}

ParamSpec IntParam(const std::string& name, const std::string& unit, int64_t def, double min, double max,
                   const std::string& help) {
  ParamSpec p;
  p.name = name;
  p.type = ParamType::kInt;
  p.unit = unit;
  p.default_value = def;
  p.min = min;
  p.max = max;
  p.help = help;
  return p;
}

ParamSpec DoubleParam(const std::string& name, const std::string& unit, double def, double min, double max,
                      const std::string& help) {
  ParamSpec p = IntParam(name, unit, 0, min, max, help);
  p.type = ParamType::kDouble;
  p.default_value = def;
  return p;
}

ParamSpec BoolParam(const std::string& name, bool def, const std::string& help) {
  ParamSpec p;
  p.name = name;
  p.type = ParamType::kBool;
  p.default_value = def;
  p.help = help;
  return p;
}

ParamSpec EnumParam(const std::string& name, const std::string& def, std::vector<std::string> choices,
                    const std::string& help) {
  ParamSpec p;
  p.name = name;
  p.type = ParamType::kEnum;
  p.default_value = def;
  p.choices = std::move(choices);
  p.help = help;
  return p;
}

ParamSpec StringParam(const std::string& name, const std::string& def, const std::string& help) {
  ParamSpec p;
  p.name = name;
  p.type = ParamType::kString;
  p.default_value = def;
  p.help = help;
  return p;
}

}  // namespace kreplay::model
