#include "tests/toy/toy_family.h"

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstring>

#include "services/core/crc32c.h"
#include "services/core/digest.h"
#include "services/core/strings.h"
#include "services/sim/rng.h"

namespace kreplay::toy {
namespace {

constexpr uint32_t kItemsPerChunk = 1024;

struct ToySpec {
  uint64_t items = 0;
  uint32_t max = 0;
};

std::string Digest(const ToyWorkload& w) {
  Sha256 h;
  h.UpdateField("kreplay-toy v1");
  for (uint32_t v : w.items) h.UpdateU64(v);
  return h.HexDigest();
}

model::AnyValue Hold(ToyWorkload w) {
  const uint64_t bytes = sizeof(w) + w.items.size() * sizeof(uint32_t);
  return model::AnyValue::Make(std::move(w), bytes);
}

std::optional<family::ParsedWorkload> Parse(const family::KindInput& in) {
  const std::string f = in.field + ".toy_synthetic";
  if (!in.entry.value.IsMap()) {
    in.errors->Error(in.entry.value, f, "expected a mapping {items: N, max: M}");
    return std::nullopt;
  }
  ToySpec spec;
  bool ok = true;
  for (auto it = in.entry.value.begin(); it != in.entry.value.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key != "items" && key != "max") {
      in.errors->Error(it->first, f + "." + key, "unknown field (allowed: items, max)");
      ok = false;
      continue;
    }
    auto v = family::SpecUint(it->second, f + "." + key, *in.errors);
    if (!v || *v == 0 || *v > 10'000'000) {
      if (v) in.errors->Error(it->second, f + "." + key, "must be in [1, 10000000]");
      ok = false;
      continue;
    }
    if (key == "items") spec.items = *v;
    else spec.max = static_cast<uint32_t>(*v);
  }
  if (ok && (spec.items == 0 || spec.max == 0)) {
    in.errors->Error(in.entry.value, f, "items and max are required");
    ok = false;
  }
  if (!ok) return std::nullopt;
  family::ParsedWorkload p;
  p.generator_yaml = YAML::Dump(in.entry.value);
  p.spec = model::AnyValue::Make(spec, 0);
  return p;
}

ToyWorkload Generate(const ToySpec& spec, uint64_t seed) {
  sim::Rng rng(seed);
  ToyWorkload w;
  for (uint64_t i = 0; i < spec.items; ++i) w.items.push_back(1 + static_cast<uint32_t>(rng.Below(spec.max)));
  return w;
}

// ---- the toy trace codec: chunks of little-endian u32 items, each with a
// CRC32C; the manifest digest is SHA-256 over the family and every payload.
void PutU32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

v1::TraceManifest Encode(const model::AnyValue& value, size_t, const family::ChunkSink& sink, const std::string& source) {
  const auto& w = *value.As<ToyWorkload>();
  Sha256 h;
  h.UpdateField("toy");
  v1::TraceManifest m;
  uint32_t index = 0;
  for (size_t first = 0; first < w.items.size(); first += kItemsPerChunk, ++index) {
    const size_t n = std::min<size_t>(kItemsPerChunk, w.items.size() - first);
    v1::TraceChunk c;
    c.set_index(index);
    c.set_first_record(first);
    c.set_record_count(static_cast<uint32_t>(n));
    std::string payload;
    for (size_t i = 0; i < n; ++i) PutU32(payload, w.items[first + i]);
    c.set_crc32c(Crc32c(payload));
    h.UpdateField(payload);
    m.set_payload_bytes(m.payload_bytes() + payload.size());
    c.set_payload(std::move(payload));
    sink(std::move(c));
  }
  m.set_digest(h.HexDigest());
  m.set_family("toy");
  m.set_chunk_count(index);
  m.set_record_count(w.items.size());
  m.set_source(source);
  return m;
}

class Assembler final : public family::TraceAssembler {
 public:
  explicit Assembler(v1::TraceManifest m) : m_(std::move(m)) { h_.UpdateField("toy"); }
  Status Add(const v1::TraceChunk& c) override {
    const std::string name = "toy trace " + m_.digest().substr(0, 12) + " chunk " + std::to_string(c.index());
    if (c.index() != next_) return DataLoss(name + ": expected chunk " + std::to_string(next_));
    if (Crc32c(c.payload()) != c.crc32c()) return DataLoss(name + ": CRC mismatch");
    if (c.payload().size() != 4ull * c.record_count()) return DataLoss(name + ": payload size");
    for (uint32_t i = 0; i < c.record_count(); ++i) {
      uint32_t v;
      std::memcpy(&v, c.payload().data() + 4 * i, 4);
      w_.items.push_back(v);
    }
    h_.UpdateField(c.payload());
    ++next_;
    return OkStatus();
  }
  uint32_t next_chunk() const override { return next_; }
  bool complete() const override { return next_ == m_.chunk_count(); }
  StatusOr<model::AnyValue> Finish() override {
    if (h_.HexDigest() != m_.digest() || w_.items.size() != m_.record_count())
      return DataLoss("toy trace " + m_.digest().substr(0, 12) + ": digest or record count mismatch");
    return Hold(std::move(w_));
  }

 private:
  v1::TraceManifest m_;
  Sha256 h_;
  ToyWorkload w_;
  uint32_t next_ = 0;
};

family::WorkloadKind ToyKind() {
  family::WorkloadKind k;
  k.key = "toy_synthetic";
  k.noun = "a toy_synthetic workload";
  k.generated = true;
  k.parse = Parse;
  k.build = [](const family::ParsedWorkload& p, uint64_t seed) -> StatusOr<model::AnyValue> {
    return Hold(Generate(*p.spec.As<ToySpec>(), seed));
  };
  k.digest = [](const model::AnyValue& w) { return Digest(*w.As<ToyWorkload>()); };
  k.cost = [](const model::AnyValue& w) { return static_cast<double>(w.As<ToyWorkload>()->items.size()); };
  k.estimate = [](const family::ParsedWorkload& p) {
    family::WorkloadEstimate e;
    e.requests = static_cast<double>(p.spec.As<ToySpec>()->items);
    e.trace_bytes = e.requests * 4;
    return e;
  };
  return k;
}

StatusOr<model::Result> RunSum(const model::RunInput& in) {
  const auto* w = in.WorkloadAs<ToyWorkload>();
  if (!in.params || !w) return InvalidArgument("toy.sum: params or toy workload missing");
  const int64_t scale = in.params->Int("scale");
  uint64_t total = 0;
  for (uint32_t v : w->items) total += v;
  model::Result r;
  r.Set("total", static_cast<double>(total) * static_cast<double>(scale), "count");
  r.Set("items", static_cast<double>(w->items.size()), "count");
  r.sim_events = w->items.size();
  return r;
}

// `trace inspect` of a toy trace: a "toy trace" line, then one number a line.
bool SniffToyTrace(std::string_view head) { return head.substr(0, 10) == "toy trace\n"; }

int InspectToyTrace(family::TraceInput in, uint64_t scale) {
  textio::LineReader lines(std::move(in.source), in.name);
  std::string_view l;
  uint64_t items = 0, total = 0;
  for (;;) {
    auto more = lines.Next(&l);
    if (!more.ok()) {
      std::fprintf(stderr, "kreplay trace: %s\n", more.status().message().c_str());
      return 2;
    }
    if (!*more) break;
    if (lines.line_number() == 1) {
      if (l != "toy trace") {
        std::fprintf(stderr, "kreplay trace: %s:1: not a toy trace (got '%.40s')\n", in.name.c_str(),
                     std::string(l).c_str());
        return 2;
      }
      continue;
    }
    auto v = ParseUint(std::string(l));
    if (!v) {
      std::fprintf(stderr, "kreplay trace: %s:%llu: not a number\n", in.name.c_str(),
                   static_cast<unsigned long long>(lines.line_number()));
      return 2;
    }
    ++items;
    total += *v;
  }
  if (in.json) {
    std::printf("{\"family\": \"toy\", \"items\": %llu, \"total\": %llu}\n",
                static_cast<unsigned long long>(items), static_cast<unsigned long long>(total * scale));
  } else {
    std::printf("toy trace %s: %llu items, total %llu\n", in.name.c_str(), static_cast<unsigned long long>(items),
                static_cast<unsigned long long>(total * scale));
  }
  return 0;
}

family::TraceInspector ToyTraceInspector() {
  family::TraceInspector i;
  i.what = "toy traces (a \"toy trace\" line, then one number a line): items and their total";
  i.sniff = SniffToyTrace;
  i.add_flags = [](CLI::App& inspect) -> std::function<int(family::TraceInput)> {
    auto scale = std::make_shared<uint64_t>(1);
    inspect.add_option("--toy-scale", *scale, "Multiply the total by this")->check(CLI::Range(1, 1000));
    return [scale](family::TraceInput in) { return InspectToyTrace(std::move(in), *scale); };
  };
  return i;
}

}  // namespace

Status RegisterToyFamily(family::Catalog& catalog) {
  family::FamilyInfo f;
  f.name = "toy";
  f.description = "test-only family: sums of seeded random numbers";
  f.workload_noun = "a toy workload";
  f.kinds = {ToyKind()};
  f.no_systems_hint = "the toy family has no systems";
  f.default_work_unit = "items";
  f.default_work_per_core_s = 1e8;
  f.run_work = [](const family::RunWorkInput& in) { return family::RunWork{in.estimate->requests, false}; };
  f.trace_inspector = ToyTraceInspector();
  f.trace_family = "toy";
  f.encode_trace = Encode;
  f.assemble_trace = [](const v1::TraceManifest& m) -> std::unique_ptr<family::TraceAssembler> {
    return std::make_unique<Assembler>(m);
  };
  KREPLAY_RETURN_IF_ERROR(catalog.RegisterFamily(std::move(f)));
  model::ModelInfo m;
  m.name = "toy.sum";
  m.family = "toy";
  m.version = "1";
  m.description = "Sum of the workload's numbers times scale (test-only)";
  m.mirrors = "no kernel code: a test family";
  m.params.push_back(model::IntParam("scale", "", 1, 1, 1000, "Multiplier of the sum"));
  m.metrics = {{"total", "count", model::Better::kLower, "Sum of the items times scale."},
               {"items", "count", model::Better::kNone, "Numbers in the workload."}};
  m.run = RunSum;
  return catalog.models().Register(std::move(m));
}

}  // namespace kreplay::toy
