// `kreplay trace inspect` dispatch with two fake families: the first whose
// sniff accepts the file reads it (in catalog order), --family forces one, a
// family's own flag picks it, and a file no family reads exits 2 naming what
// is read. The real block inspector is covered by it_block_cli.
#include "controller/cli/trace_cmd.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "controller/cli/exit_codes.h"

namespace kreplay::cli {
namespace {

// What a fake inspector saw when it ran.
struct Seen {
  std::string family, name, text, mode;
  bool json = false;
  int runs = 0;
};

// Reads a whole source.
std::string Drain(textio::ByteSource& s) {
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = s.Read(buf, sizeof buf);
    if (!n.ok()) return out + "<error: " + n.status().message() + ">";
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

// A family whose traces start with `magic`; with `flag`, it registers that
// flag on `inspect`. It records every run into `seen`.
family::FamilyInfo Fake(const std::string& name, const std::string& magic, const std::string& flag, Seen* seen) {
  family::FamilyInfo f;
  f.name = name;
  family::TraceInspector i;
  i.what = name + " traces (starting " + magic + ")";
  i.sniff = [magic](std::string_view head) { return head.substr(0, magic.size()) == magic; };
  i.add_flags = [name, flag, seen](CLI::App& inspect) -> std::function<int(family::TraceInput)> {
    auto mode = std::make_shared<std::string>();
    if (!flag.empty()) inspect.add_option(flag, *mode, "a flag of " + name);
    return [name, mode, seen](family::TraceInput in) {
      seen->family = name;
      seen->name = in.name;
      seen->text = Drain(*in.source);
      seen->json = in.json;
      seen->mode = *mode;
      seen->runs++;
      return kExitOk;
    };
  };
  f.trace_inspector = i;
  return f;
}

// Runs `kreplay trace inspect ARGS...` on a fresh app; its stderr into *err.
int RunInspect(const family::Catalog& catalog, std::vector<std::string> args, std::string* err) {
  CLI::App app{"test"};
  auto t = AddTraceCommand(app, catalog);
  args.insert(args.begin(), {"trace", "inspect"});
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    *err = e.what();
    return kExitBadInput;
  }
  EXPECT_TRUE(TraceInspectSelected(*t));
  ::testing::internal::CaptureStderr();
  int rc = RunTraceInspect(*t);
  *err = ::testing::internal::GetCapturedStderr();
  return rc;
}

class TraceInspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kreplay-trace-cmd-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    // Registered out of order: catalog order is by name (alpha, then zeta).
    ASSERT_TRUE(catalog_.RegisterFamily(Fake("zeta", "ZETA", "", &seen_)).ok());
    ASSERT_TRUE(catalog_.RegisterFamily(Fake("alpha", "ALPHA", "--alpha-mode", &seen_)).ok());
    family::FamilyInfo plain;
    plain.name = "nothing";  // no inspector: never asked
    ASSERT_TRUE(catalog_.RegisterFamily(plain).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& data) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }

  int Inspect(const std::vector<std::string>& args) { return RunInspect(catalog_, args, &err_); }

  std::filesystem::path dir_;
  family::Catalog catalog_;
  Seen seen_;
  std::string err_;
};

TEST_F(TraceInspectTest, TheFamilyWhoseSniffAcceptsReadsTheWholeFile) {
  std::string z = Write("z.txt", "ZETA v1\n1 2 3\n");
  ASSERT_EQ(Inspect({z}), kExitOk) << err_;
  EXPECT_EQ(seen_.family, "zeta");
  EXPECT_EQ(seen_.name, z);
  EXPECT_EQ(seen_.text, "ZETA v1\n1 2 3\n") << "the sniffed head is replayed";
  EXPECT_FALSE(seen_.json);

  std::string a = Write("a.txt", "ALPHA\n");
  ASSERT_EQ(Inspect({"--json", a}), kExitOk) << err_;
  EXPECT_EQ(seen_.family, "alpha");
  EXPECT_TRUE(seen_.json);
}

TEST_F(TraceInspectTest, ALongFileIsReplayedWholeAndSniffedOnWholeLines) {
  std::string body = "ZETA\n";
  while (body.size() < 3 * family::kTraceHeadBytes) body += "0123456789 abcdefghij\n";
  std::string z = Write("big.txt", body);
  size_t head_size = 0;
  bool whole_lines = false;
  family::FamilyInfo probe = Fake("beta", "never", "", &seen_);
  probe.trace_inspector->sniff = [&](std::string_view head) {
    head_size = head.size();
    whole_lines = !head.empty() && head.back() == '\n';
    return false;
  };
  ASSERT_TRUE(catalog_.RegisterFamily(probe).ok());
  ASSERT_EQ(Inspect({z}), kExitOk) << err_;
  EXPECT_EQ(seen_.family, "zeta");
  EXPECT_EQ(seen_.text, body);
  EXPECT_LE(head_size, family::kTraceHeadBytes);
  EXPECT_GT(head_size, family::kTraceHeadBytes - 100);
  EXPECT_TRUE(whole_lines);
}

TEST_F(TraceInspectTest, GzipIsSniffedDecompressed) {
  std::string p = (dir_ / "z.txt.gz").string();
  gzFile g = gzopen(p.c_str(), "wb");
  ASSERT_NE(g, nullptr);
  const std::string text = "ZETA compressed\n4 5 6\n";
  gzwrite(g, text.data(), static_cast<unsigned>(text.size()));
  gzclose(g);
  ASSERT_EQ(Inspect({p}), kExitOk) << err_;
  EXPECT_EQ(seen_.family, "zeta");
  EXPECT_EQ(seen_.text, text);
}

TEST(TraceCommandTest, TheFirstInCatalogOrderWinsATie) {
  Seen seen;
  family::Catalog c;
  ASSERT_TRUE(c.RegisterFamily(Fake("second", "X", "", &seen)).ok());
  ASSERT_TRUE(c.RegisterFamily(Fake("first", "X", "", &seen)).ok());
  std::string p = (std::filesystem::temp_directory_path() / ("kreplay-trace-tie-" + std::to_string(::getpid()))).string();
  std::ofstream(p) << "X\n";
  std::string err;
  EXPECT_EQ(RunInspect(c, {p}, &err), kExitOk) << err;
  EXPECT_EQ(seen.family, "first");
  std::filesystem::remove(p);
}

TEST_F(TraceInspectTest, FamilyForcesOne) {
  std::string a = Write("a.txt", "ALPHA\nbody\n");
  ASSERT_EQ(Inspect({"--family", "zeta", a}), kExitOk) << err_;
  EXPECT_EQ(seen_.family, "zeta");
  EXPECT_EQ(seen_.text, "ALPHA\nbody\n");
  // Also a file nobody recognises.
  ASSERT_EQ(Inspect({"--family", "alpha", Write("u.txt", "unknown\n")}), kExitOk) << err_;
  EXPECT_EQ(seen_.family, "alpha");
  // Only families with an inspector can be named.
  EXPECT_EQ(Inspect({"--family", "nothing", a}), kExitBadInput);
  EXPECT_EQ(seen_.runs, 2);
}

TEST_F(TraceInspectTest, AFamilysOwnFlagPicksIt) {
  std::string z = Write("z.txt", "ZETA\n");
  ASSERT_EQ(Inspect({"--alpha-mode", "fast", z}), kExitOk) << err_;
  EXPECT_EQ(seen_.family, "alpha");
  EXPECT_EQ(seen_.mode, "fast");
  ASSERT_EQ(Inspect({"--family", "alpha", "--alpha-mode", "slow", z}), kExitOk) << err_;
  EXPECT_EQ(seen_.mode, "slow");
  // Another family's flag contradicts --family.
  EXPECT_EQ(Inspect({"--family", "zeta", "--alpha-mode", "x", z}), kExitBadInput);
  EXPECT_NE(err_.find("--alpha-mode is for alpha traces, which --family zeta is not"), std::string::npos) << err_;
  EXPECT_EQ(seen_.runs, 2);
}

TEST_F(TraceInspectTest, AFileNoFamilyReadsExits2ListingWhatIsRead) {
  std::string u = Write("u.txt", "hello\n");
  EXPECT_EQ(Inspect({u}), kExitBadInput);
  EXPECT_NE(err_.find(u + ": not a trace any family reads"), std::string::npos) << err_;
  EXPECT_NE(err_.find("alpha: alpha traces (starting ALPHA)"), std::string::npos) << err_;
  EXPECT_NE(err_.find("zeta: zeta traces (starting ZETA)"), std::string::npos) << err_;
  EXPECT_NE(err_.find("--family"), std::string::npos) << err_;
  EXPECT_EQ(Inspect({Write("empty.txt", "")}), kExitBadInput);
  EXPECT_NE(err_.find("empty"), std::string::npos) << err_;
  EXPECT_EQ(Inspect({(dir_ / "missing.txt").string()}), kExitBadInput);
  EXPECT_NE(err_.find("missing.txt"), std::string::npos) << err_;
  EXPECT_EQ(seen_.runs, 0);
}

TEST_F(TraceInspectTest, ADamagedFileSniffedOnItsGoodStartGoesToTheFamily) {
  // A gzip cut in half: the head decompresses, the rest fails; the family's
  // reader meets the error (it is not swallowed), an unknown one is reported.
  std::string text = "ZETA\n";
  for (int i = 0; i < 20000; ++i) text += std::to_string(i * 7919 % 10007) + "\n";
  std::string p = (dir_ / "whole.gz").string();
  gzFile g = gzopen(p.c_str(), "wb");
  gzwrite(g, text.data(), static_cast<unsigned>(text.size()));
  gzclose(g);
  std::ifstream f(p, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string cut = Write("cut.gz", gz.substr(0, gz.size() / 2));
  ASSERT_EQ(Inspect({cut}), kExitOk) << err_;
  EXPECT_EQ(seen_.family, "zeta");
  EXPECT_NE(seen_.text.find("<error: "), std::string::npos) << "the family sees the damage";
}

TEST(TraceCommandTest, TwoFamiliesWithOneFlagTrap) {
  Seen seen;
  family::Catalog c;
  ASSERT_TRUE(c.RegisterFamily(Fake("one", "1", "--mode", &seen)).ok());
  ASSERT_TRUE(c.RegisterFamily(Fake("two", "2", "--mode", &seen)).ok());
  CLI::App app{"test"};
  EXPECT_DEATH(AddTraceCommand(app, c), "family two: a trace inspect flag is already taken");
}

}  // namespace
}  // namespace kreplay::cli
