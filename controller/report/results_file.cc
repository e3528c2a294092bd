#include "controller/report/results_file.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "services/core/files.h"

namespace kreplay::report {
namespace {

using Json = nlohmann::json;

// Field access with errors that name the file and the JSON path.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  const Json* Field(const Json& obj, const std::string& key, const std::string& where, Json::value_t type) {
    if (!obj.is_object()) {
      Error(where + ": not an object");
      return nullptr;
    }
    auto it = obj.find(key);
    const std::string path = where.empty() ? key : where + "." + key;
    if (it == obj.end()) {
      Error(path + ": missing");
      return nullptr;
    }
    bool ok = it->type() == type || (type == Json::value_t::number_float && it->is_number()) ||
              (type == Json::value_t::number_unsigned && it->is_number_integer() && it->get<int64_t>() >= 0);
    if (!ok) {
      Error(path + ": expected " + TypeName(type) + ", got " + it->type_name());
      return nullptr;
    }
    return &*it;
  }
  std::string Str(const Json& obj, const std::string& key, const std::string& where) {
    const Json* v = Field(obj, key, where, Json::value_t::string);
    return v ? v->get<std::string>() : "";
  }
  uint64_t U64(const Json& obj, const std::string& key, const std::string& where) {
    const Json* v = Field(obj, key, where, Json::value_t::number_unsigned);
    return v ? v->get<uint64_t>() : 0;
  }
  // A number or null (non-finite values are written as null).
  double Num(const Json& obj, const std::string& key, const std::string& where) {
    auto it = obj.is_object() ? obj.find(key) : obj.end();
    if (it != obj.end() && it->is_null()) return std::numeric_limits<double>::quiet_NaN();
    const Json* v = Field(obj, key, where, Json::value_t::number_float);
    return v ? v->get<double>() : 0;
  }
  const Json* Array(const Json& obj, const std::string& key, const std::string& where) {
    return Field(obj, key, where, Json::value_t::array);
  }
  const Json* Object(const Json& obj, const std::string& key, const std::string& where) {
    return Field(obj, key, where, Json::value_t::object);
  }
  void Error(const std::string& msg) {
    if (errors_.size() < 20) errors_.push_back(file_ + ": " + msg);
  }
  Status Done() const {
    if (errors_.empty()) return OkStatus();
    std::string all;
    for (const auto& e : errors_) all += (all.empty() ? "" : "\n") + e;
    return InvalidArgument(all);
  }

 private:
  static std::string TypeName(Json::value_t t) {
    switch (t) {
      case Json::value_t::string: return "a string";
      case Json::value_t::number_unsigned: return "an unsigned integer";
      case Json::value_t::number_float: return "a number";
      case Json::value_t::array: return "an array";
      case Json::value_t::object: return "an object";
      default: return "another type";
    }
  }
  std::string file_;
  std::vector<std::string> errors_;
};

}  // namespace

StatusOr<ResultSet> LoadResults(const std::string& path) {
  std::string file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = (std::filesystem::path(path) / "results.json").string();
  if (!std::filesystem::exists(file, ec))
    return NotFound(file + ": no such file (expected a result folder written by `kreplay run --out DIR`, or its "
                           "results.json)");
  auto text = ReadFile(file);
  if (!text.ok()) return text.status();
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(file + ": not valid JSON");
  Reader rd(file);
  ResultSet set;
  set.path = file;
  if (const Json* v = rd.Field(j, "schema_version", "", Json::value_t::number_unsigned))
    set.schema_version = static_cast<int>(std::min<uint64_t>(v->get<uint64_t>(), INT32_MAX));
  KREPLAY_RETURN_IF_ERROR(rd.Done());

  Layout& l = set.layout;
  if (const Json* study = rd.Object(j, "study", "")) {
    l.study = rd.Str(*study, "name", "study");
    l.description = rd.Str(*study, "description", "study");
    l.reference = rd.Str(*study, "reference", "study");
    if (const Json* m = rd.Array(*study, "metrics", "study"))
      for (const auto& x : *m)
        if (x.is_string()) l.metrics.push_back(x.get<std::string>());
  }
  if (const Json* prov = rd.Object(j, "provenance", "")) {
    set.kreplay_version = rd.Str(*prov, "kreplay_version", "provenance");
    set.host = rd.Str(*prov, "host", "provenance");
    if (prov->contains("spec_path") && (*prov)["spec_path"].is_string()) l.spec_path = (*prov)["spec_path"];
    if (const Json* ps = rd.Array(*prov, "platforms", "provenance"))
      for (size_t i = 0; i < ps->size(); ++i) {
        std::string where = "provenance.platforms[" + std::to_string(i) + "]";
        spec::PlatformEntry e;
        e.name = rd.Str((*ps)[i], "name", where);
        e.source = rd.Str((*ps)[i], "source", where);
        e.digest = rd.Str((*ps)[i], "digest", where);
        l.platforms.push_back(std::move(e));
      }
    if (const Json* ws = rd.Array(*prov, "workloads", "provenance"))
      for (size_t i = 0; i < ws->size(); ++i)
        l.workloads.push_back(rd.Str((*ws)[i], "name", "provenance.workloads[" + std::to_string(i) + "]"));
  }
  if (const Json* aggs = rd.Array(j, "aggregates", "")) {
    for (size_t i = 0; i < aggs->size(); ++i) {
      const Json& a = (*aggs)[i];
      std::string where = "aggregates[" + std::to_string(i) + "]";
      std::string variant = rd.Str(a, "variant", where);
      bool known = false;
      for (const auto& v : l.variants) known |= v.name == variant;
      // results.json has no grid coordinates: the name stands for itself.
      if (!known) l.variants.push_back({variant, rd.Str(a, "compare_to", where), variant, {}});
      std::string platform = rd.Str(a, "platform", where), workload = rd.Str(a, "workload", where);
      if (const Json* pooled = rd.Object(a, "pooled_histograms", where))
        for (const auto& [name, h] : pooled->items()) {
          std::string hw = where + ".pooled_histograms." + name;
          PooledHistogram ph;
          ph.count = rd.U64(h, "count", hw);
          ph.p50 = static_cast<int64_t>(std::min<uint64_t>(rd.U64(h, "pooled_p50", hw), INT64_MAX));
          ph.p99 = static_cast<int64_t>(std::min<uint64_t>(rd.U64(h, "pooled_p99", hw), INT64_MAX));
          set.pooled.push_back({variant, platform, workload, name, ph});
        }
    }
  }
  if (const Json* runs = rd.Array(j, "runs", "")) {
    for (size_t i = 0; i < runs->size(); ++i) {
      const Json& r = (*runs)[i];
      std::string where = "runs[" + std::to_string(i) + "]";
      RunRecord rec;
      rec.run_key = rd.Str(r, "run_key", where);
      rec.variant = rd.Str(r, "variant", where);
      rec.platform = rd.Str(r, "platform", where);
      rec.workload = rd.Str(r, "workload", where);
      rec.seed = rd.U64(r, "seed", where);
      rec.model = rd.Str(r, "model", where);
      rec.model_version = rd.Str(r, "model_version", where);
      rec.params = rd.Str(r, "params", where);
      rec.platform_digest = rd.Str(r, "platform_digest", where);
      rec.workload_digest = rd.Str(r, "workload_digest", where);
      rec.result.sim_events = rd.U64(r, "sim_events", where);
      rec.result.sim_time_ns = static_cast<sim::Time>(rd.U64(r, "sim_time_ns", where));
      if (const Json* sc = rd.Object(r, "scalars", where))
        for (const auto& [name, s] : sc->items()) {
          std::string sw = where + ".scalars." + name;
          rec.result.scalars[name] = model::Scalar{rd.Num(s, "value", sw), rd.Str(s, "unit", sw)};
        }
      set.runs.push_back(std::move(rec));
    }
  }
  KREPLAY_RETURN_IF_ERROR(rd.Done());
  return set;
}

StatusOr<Report> ReportFromResults(const ResultSet& set) {
  auto rep = BuildReport(set.layout, set.runs, set.host);
  if (!rep.ok()) return rep.status().WithContext(set.path);
  for (const auto& p : set.pooled)
    for (auto& g : rep->groups)
      if (g.variant == p.variant && g.platform == p.platform && g.workload == p.workload) g.pooled[p.name] = p.value;
  return rep;
}

}  // namespace kreplay::report
