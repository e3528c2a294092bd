// Self-describing model parameters: every knob declares its name, type, unit,
// default, bounds and help, and a study's values are validated once, at load.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "services/core/status.h"

namespace kreplay::model {

enum class ParamType { kInt, kDouble, kBool, kEnum, kString };
const char* ParamTypeName(ParamType t);

using ParamValue = std::variant<int64_t, double, bool, std::string>;
// Canonical text: ints as digits, doubles in shortest round-trip form,
// bools as true/false, strings verbatim. Used in content keys.
std::string ParamValueText(const ParamValue& v);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kInt;
  std::string unit;                 // "ns", "%", "" for dimensionless
  ParamValue default_value;
  std::optional<double> min;        // inclusive, numeric types only
  std::optional<double> max;
  std::vector<std::string> choices; // kEnum only
  std::string help;
  bool power_of_two = false;        // kInt only: the value must be 2^k (ring sizes)
};

// Builders for the parameter tables models register (bounds inclusive).
ParamSpec IntParam(const std::string& name, const std::string& unit, int64_t def, double min, double max,
                   const std::string& help);
ParamSpec DoubleParam(const std::string& name, const std::string& unit, double def, double min, double max,
                      const std::string& help);
ParamSpec BoolParam(const std::string& name, bool def, const std::string& help);
ParamSpec EnumParam(const std::string& name, const std::string& def, std::vector<std::string> choices,
                    const std::string& help);
ParamSpec StringParam(const std::string& name, const std::string& def, const std::string& help);

// A complete, validated assignment of every parameter of a model (defaults
// filled in). Ordered by name, so iteration and Canonical() are stable.
class ParamSet {
 public:
  ParamSet() = default;
  explicit ParamSet(std::map<std::string, ParamValue> values) : values_(std::move(values)) {}

  // REQUIRES: the parameter exists with that type (guaranteed after Resolve).
  int64_t Int(const std::string& name) const;
  double Double(const std::string& name) const;  // ints widen
  bool Bool(const std::string& name) const;
  const std::string& Str(const std::string& name) const;  // kEnum and kString

  const std::map<std::string, ParamValue>& values() const { return values_; }
  // "name=value;..." in name order; the input to content keys.
  std::string Canonical() const;

 private:
  std::map<std::string, ParamValue> values_;
};

// Checks `given` against `specs` and fills defaults. Unknown names, wrong
// types, out-of-bounds values and unknown enum choices are errors naming
// `field_prefix.name` and the allowed values; all errors are collected.
StatusOr<ParamSet> ResolveParams(const std::vector<ParamSpec>& specs,
                                 const std::map<std::string, ParamValue>& given,
                                 const std::string& field_prefix);

}  // namespace kreplay::model
