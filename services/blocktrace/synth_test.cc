#include "services/blocktrace/synth.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <set>

namespace kreplay::blocktrace {
namespace {

using workload::BlockOp;

BlockSynthSpec Parse(const std::string& yaml) {
  auto s = ParseBlockSynthSpec(YAML::Load(yaml), "block_synthetic");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : BlockSynthSpec{};
}

const char* kMix = R"(
requests: 20000
arrival: {kind: poisson, rate: 10000}
components:
  - {kind: zipf, weight: 3, footprint: 64MiB, size: 4KiB, skew: 0.9, read_fraction: 0.7}
  - {kind: scan, weight: 1, volume: 1, footprint: 1GiB, size: 128KiB}
  - {kind: stream, weight: 1, streams: 4, run: 1MiB, footprint: 4GiB, size: 64KiB, read_fraction: 0}
)";

TEST(BlockSynth, SameSeedSameRequestsOtherSeedOthers) {
  BlockSynthSpec spec = Parse(kMix);
  auto a = GenerateBlockSynthetic(spec, 11), b = GenerateBlockSynthetic(spec, 11), c = GenerateBlockSynthetic(spec, 12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.requests, c.requests);
  EXPECT_EQ(a.requests.size(), 20000u);
  EXPECT_EQ(a.volumes, (std::vector<std::string>{"synth0", "synth1"}));
  for (size_t i = 1; i < a.requests.size(); ++i) ASSERT_LE(a.requests[i - 1].time_ns, a.requests[i].time_ns);
}

TEST(BlockSynth, DocumentedDrawOrderRederivedIndependently) {
  // One scan component, fixed arrivals: no arrival or choice draws matter;
  // the component stream (Fork(100)) draws one Bernoulli per request.
  BlockSynthSpec spec = Parse(R"(
requests: 12
arrival: {kind: fixed, rate: 4000}
components:
  - {kind: scan, start: 1MiB, footprint: 20KiB, size: 4KiB, read_fraction: 0.5}
)");
  auto w = GenerateBlockSynthetic(spec, 99);
  sim::Rng comp = sim::Rng(99).Fork(100);
  ASSERT_EQ(w.requests.size(), 12u);
  for (uint64_t i = 0; i < 12; ++i) {
    const auto& r = w.requests[i];
    EXPECT_EQ(r.time_ns, static_cast<int64_t>(i * 250000));
    EXPECT_EQ(r.offset, (1u << 20) + (i % 5) * 4096);  // 5 slots, wrapping
    EXPECT_EQ(r.bytes, 4096u);
    EXPECT_EQ(r.task, 1u);
    EXPECT_EQ(r.op, comp.Uniform() < 0.5 ? BlockOp::kRead : BlockOp::kWrite);
  }
}

TEST(BlockSynth, MixtureWeightsReadFractionAndPoissonRate) {
  auto w = GenerateBlockSynthetic(Parse(kMix), 5);
  double n = static_cast<double>(w.requests.size());
  double zipf = 0, zipf_reads = 0, stream_writes = 0, streams = 0;
  for (const auto& r : w.requests) {
    if (r.task == 1) {
      ++zipf;
      zipf_reads += r.op == BlockOp::kRead;
      EXPECT_LT(r.offset, 64u << 20);
      EXPECT_EQ(r.offset % 4096, 0u);
    }
    if (r.task == 2) {
      EXPECT_EQ(r.volume, 1u);
    }
    if (r.task == 3) {
      ++streams;
      stream_writes += r.op == BlockOp::kWrite;
    }
  }
  // Binomial standard errors: 0.6 * sqrt(...) ~ 0.0035 for the share, allow ~5 sigma.
  EXPECT_NEAR(zipf / n, 0.6, 0.02);
  EXPECT_NEAR(zipf_reads / zipf, 0.7, 0.02);
  EXPECT_EQ(stream_writes, streams);
  double mean_gap = static_cast<double>(w.requests.back().time_ns) / (n - 1);
  EXPECT_NEAR(mean_gap, 1e5, 1e5 * 0.03);  // 20000 exponential gaps: ~0.7 % standard error
}

TEST(BlockSynth, StreamsAreSequentialWithinARun) {
  auto w = GenerateBlockSynthetic(Parse(R"(
requests: 3000
arrival: {kind: fixed, rate: 1000}
components:
  - {kind: stream, streams: 1, run: 1MiB, footprint: 1GiB, size: 64KiB}
)"),
                                  3);
  // One stream, 16 requests per run: 15 of every 16 continue the previous one.
  int seq = 0;
  for (size_t i = 1; i < w.requests.size(); ++i) seq += w.requests[i].offset == w.requests[i - 1].offset + 65536;
  EXPECT_GE(seq, 2999 * 15 / 16 - 2);
}

// Zipf frequencies against P(k) = k^-s / sum_j j^-s computed with std::pow.
void CheckZipf(uint64_t n, double s) {
  ZipfSampler z(n, s);
  sim::Rng rng(1234);
  const int kSamples = 400000;
  std::vector<int> count(n + 1, 0);
  for (int i = 0; i < kSamples; ++i) {
    uint64_t k = z.Sample(rng);
    ASSERT_GE(k, 1u);
    ASSERT_LE(k, n);
    ++count[k];
  }
  double norm = 0;
  for (uint64_t k = 1; k <= n; ++k) norm += std::pow(static_cast<double>(k), -s);
  double chi2 = 0;
  for (uint64_t k = 1; k <= n; ++k) {
    double p = std::pow(static_cast<double>(k), -s) / norm;
    double expect = p * kSamples;
    double sigma = std::sqrt(kSamples * p * (1 - p));
    EXPECT_NEAR(count[k], expect, 5 * sigma + 1) << "n=" << n << " s=" << s << " k=" << k;
    chi2 += (count[k] - expect) * (count[k] - expect) / expect;
  }
  // n - 1 degrees of freedom: mean n - 1, sd sqrt(2(n - 1)); allow 5 sd.
  if (n > 1) {
    EXPECT_LT(chi2, static_cast<double>(n - 1) + 5 * std::sqrt(2.0 * static_cast<double>(n - 1))) << "s=" << s;
  }
}

TEST(Zipf, FrequenciesMatchTheAnalyticProbabilities) {
  CheckZipf(50, 0.99);
  CheckZipf(50, 1.0);
  CheckZipf(20, 0.0);
  CheckZipf(100, 1.5);
  CheckZipf(1, 0.8);
}

TEST(Zipf, HugeDomainStaysInRange) {
  ZipfSampler z(uint64_t{1} << 40, 0.7);
  sim::Rng rng(1);
  for (int i = 0; i < 10000; ++i) {
    uint64_t k = z.Sample(rng);
    ASSERT_GE(k, 1u);
    ASSERT_LE(k, uint64_t{1} << 40);
  }
}

TEST(BlockSynth, ScatterIsABijectionOverSlots) {
  auto w = GenerateBlockSynthetic(Parse(R"(
requests: 40000
arrival: {kind: fixed, rate: 1000}
components:
  - {kind: zipf, footprint: 400KiB, size: 4KiB, skew: 0}
)"),
                                  8);
  std::set<uint64_t> offs;
  for (const auto& r : w.requests) offs.insert(r.offset);
  EXPECT_EQ(offs.size(), 100u);  // uniform over 100 slots: all hit
  EXPECT_EQ(*offs.rbegin(), 99u * 4096);
}

TEST(BlockSynth, ParseErrorsNameLineAndField) {
  auto s = ParseBlockSynthSpec(YAML::Load("requests: 10\narrival: {rate: 5}\ncomponents:\n  - {kind: zipf, footprint: 1MiB, skew: 9}\n"),
                               "block_synthetic");
  EXPECT_EQ(s.status().message(), "4: block_synthetic.components[0].skew: expected a number in 0..5 (got '9')");
  s = ParseBlockSynthSpec(YAML::Load("requests: 10\narrival: {rate: 5}\ncomponents:\n  - {kind: scan, footprint: 1MiB, size: 3XB}\n"),
                          "b");
  EXPECT_EQ(s.status().message(), "4: b.components[0].size: unknown size suffix 'XB' (B, KiB, MiB, GiB, TiB)");
  s = ParseBlockSynthSpec(YAML::Load("arrival: {rate: 5}\ncomponents: []\n"), "b");
  EXPECT_EQ(s.status().message(), "1: b.requests: requests or duration is required");
  s = ParseBlockSynthSpec(YAML::Load("requests: 1\narrival: {rate: 5}\ncomponents:\n  - {kind: lru, footprint: 1}\n"), "b");
  EXPECT_EQ(s.status().message(), "4: b.components[0].kind: unknown kind 'lru' (allowed: zipf, scan, stream)");
}

TEST(BlockSynth, DurationStopsTheStream) {
  auto w = GenerateBlockSynthetic(Parse(R"(
duration: 10ms
arrival: {kind: fixed, rate: 1000}
components:
  - {kind: scan, footprint: 1MiB}
)"),
                                  1);
  EXPECT_EQ(w.requests.size(), 10u);  // t = 0, 1, ..., 9 ms
}

}  // namespace
}  // namespace kreplay::blocktrace
