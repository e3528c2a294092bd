#include "services/codec/convert.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "services/core/digest.h"

namespace kreplay::codec {

std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&cos);
  }
  return out;
}

v1::Platform PlatformToProto(const workload::Platform& p) {
  v1::Platform out;
  out.set_name(p.name);
  out.set_description(p.description);
  out.set_power_unit(p.power_unit);
  out.set_source(p.source);
  for (const auto& c : p.clusters) {
    auto* pc = out.add_clusters();
    pc->set_name(c.name);
    pc->set_core(c.core);
    pc->set_cpus(c.cpus);
    pc->set_capacity(c.capacity);
    pc->set_cpu_efficiency(c.cpu_efficiency);
    pc->set_big(c.big);
    pc->set_dvfs_transition_ns(c.dvfs_transition_ns);
    for (const auto& o : c.opps) {
      auto* po = pc->add_opps();
      po->set_khz(o.khz);
      po->set_capacity(o.capacity);
      po->set_cpu_power(o.cpu_power);
      po->set_cluster_power(o.cluster_power);
    }
    for (const auto& s : c.idle_states) {
      auto* ps = pc->add_idle_states();
      ps->set_name(s.name);
      ps->set_cpu_power(s.cpu_power);
      ps->set_cluster_power(s.cluster_power);
      ps->set_exit_latency_ns(s.exit_latency_ns);
      ps->set_min_residency_ns(s.min_residency_ns);
    }
  }
  return out;
}

workload::Platform PlatformFromProto(const v1::Platform& p) {
  workload::Platform out;
  out.name = p.name();
  out.description = p.description();
  out.power_unit = p.power_unit();
  out.source = p.source();
  for (const auto& pc : p.clusters()) {
    workload::Cluster c;
    c.name = pc.name();
    c.core = pc.core();
    c.cpus = pc.cpus();
    c.capacity = pc.capacity();
    c.cpu_efficiency = pc.cpu_efficiency();
    c.big = pc.big();
    c.dvfs_transition_ns = pc.dvfs_transition_ns();
    for (const auto& po : pc.opps()) c.opps.push_back({po.khz(), po.capacity(), po.cpu_power(), po.cluster_power()});
    for (const auto& ps : pc.idle_states())
      c.idle_states.push_back({ps.name(), ps.cpu_power(), ps.cluster_power(), ps.exit_latency_ns(), ps.min_residency_ns()});
    out.clusters.push_back(std::move(c));
  }
  return out;
}

std::string PlatformBytes(const workload::Platform& p) { return DeterministicBytes(PlatformToProto(p)); }
std::string PlatformDigest(const workload::Platform& p) { return Sha256Hex(PlatformBytes(p)); }

void ParamsToProto(const model::ParamSet& ps, google::protobuf::RepeatedPtrField<v1::Param>* out) {
  for (const auto& [name, v] : ps.values()) {  // std::map: sorted by name
    auto* p = out->Add();
    p->set_name(name);
    auto* pv = p->mutable_value();
    if (auto* i = std::get_if<int64_t>(&v)) pv->set_int_value(*i);
    else if (auto* d = std::get_if<double>(&v)) pv->set_double_value(*d);
    else if (auto* b = std::get_if<bool>(&v)) pv->set_bool_value(*b);
    else pv->set_string_value(std::get<std::string>(v));
  }
}

model::ParamSet ParamsFromProto(const google::protobuf::RepeatedPtrField<v1::Param>& in) {
  std::map<std::string, model::ParamValue> m;
  for (const auto& p : in) {
    switch (p.value().kind_case()) {
      case v1::ParamValue::kIntValue: m[p.name()] = p.value().int_value(); break;
      case v1::ParamValue::kDoubleValue: m[p.name()] = p.value().double_value(); break;
      case v1::ParamValue::kBoolValue: m[p.name()] = p.value().bool_value(); break;
      default: m[p.name()] = p.value().string_value(); break;
    }
  }
  return model::ParamSet(std::move(m));
}

v1::Histogram HistogramToProto(const sim::Histogram& h) {
  v1::Histogram out;
  out.set_sub_bucket_bits(static_cast<uint32_t>(h.sub_bucket_bits()));
  const auto& b = h.buckets();
  for (size_t i = 0; i < b.size(); ++i) {
    if (!b[i]) continue;
    out.add_bucket_index(static_cast<uint32_t>(i));
    out.add_bucket_count(b[i]);
  }
  out.set_count(h.count());
  out.set_min(h.min());
  out.set_max(h.max());
  out.set_sum(h.sum());
  return out;
}

sim::Histogram HistogramFromProto(const v1::Histogram& h) {
  std::vector<uint32_t> idx(h.bucket_index().begin(), h.bucket_index().end());
  std::vector<uint64_t> cnt(h.bucket_count().begin(), h.bucket_count().end());
  int bits = h.sub_bucket_bits() ? static_cast<int>(h.sub_bucket_bits()) : sim::Histogram::kDefaultSubBucketBits;
  return sim::Histogram::FromParts(bits, idx, cnt, h.min(), h.max(), h.sum());
}

v1::ModelResult ResultToProto(const model::Result& r) {
  v1::ModelResult out;
  for (const auto& [name, s] : r.scalars) {
    auto* p = out.add_scalars();
    p->set_name(name);
    p->set_value(s.value);
    p->set_unit(s.unit);
  }
  for (const auto& [name, h] : r.histograms) {
    auto* p = out.add_histograms();
    p->set_name(name);
    *p->mutable_histogram() = HistogramToProto(h);
  }
  for (const auto& [name, ts] : r.series) {
    auto* p = out.add_series();
    p->set_name(name);
    p->set_unit(ts.unit);
    for (auto t : ts.t) p->add_t_ns(t);
    for (auto v : ts.value) p->add_value(v);
  }
  out.set_sim_events(r.sim_events);
  out.set_sim_time_ns(r.sim_time_ns);
  return out;
}

model::Result ResultFromProto(const v1::ModelResult& r) {
  model::Result out;
  for (const auto& s : r.scalars()) out.scalars[s.name()] = {s.value(), s.unit()};
  for (const auto& h : r.histograms()) out.histograms.emplace(h.name(), HistogramFromProto(h.histogram()));
  for (const auto& s : r.series()) {
    model::TimeSeries ts;
    ts.unit = s.unit();
    ts.t.assign(s.t_ns().begin(), s.t_ns().end());
    ts.value.assign(s.value().begin(), s.value().end());
    out.series[s.name()] = std::move(ts);
  }
  out.sim_events = r.sim_events();
  out.sim_time_ns = r.sim_time_ns();
  return out;
}

std::string SerializeResult(const model::Result& r) { return DeterministicBytes(ResultToProto(r)); }

StatusOr<model::Result> ParseResult(const std::string& bytes) {
  v1::ModelResult m;
  if (!m.ParseFromString(bytes)) return DataLoss("result bytes do not parse as kreplay.v1.ModelResult");
  return ResultFromProto(m);
}

}  // namespace kreplay::codec
