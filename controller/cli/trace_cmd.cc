#include "controller/cli/trace_cmd.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <set>

#include "controller/cli/exit_codes.h"
#include "services/textio/source.h"

namespace kreplay::cli {

struct TraceCli {
  // One family's inspector as registered on `inspect`.
  struct Inspector {
    const family::FamilyInfo* family = nullptr;
    std::vector<const CLI::Option*> flags;  // its own flags
    std::function<int(family::TraceInput)> run;
  };
  CLI::App* trace = nullptr;
  CLI::App* inspect = nullptr;
  std::vector<Inspector> inspectors;  // catalog order
  std::string file, family;
  bool json = false;
};

namespace {

// As the families' inspectors do: a damaged file (DataLoss) is bad input
// here; only an I/O failure is infrastructure.
int Fail(const std::string& msg, StatusCode code = StatusCode::kInvalidArgument) {
  std::fprintf(stderr, "kreplay trace: %s\n", msg.c_str());
  return code == StatusCode::kUnavailable ? kExitInfra : kExitBadInput;
}

// "  blockcache: block traces (...)" lines, one per inspector.
std::string Readers(const TraceCli& t) {
  std::string out;
  for (const auto& i : t.inspectors) out += "\n  " + i.family->name + ": " + i.family->trace_inspector->what;
  return out;
}

// The first given flag of `i`, or nullptr.
const CLI::Option* GivenFlag(const TraceCli::Inspector& i) {
  for (const CLI::Option* o : i.flags)
    if (o->count() > 0) return o;
  return nullptr;
}

}  // namespace

std::shared_ptr<TraceCli> AddTraceCommand(CLI::App& app, const family::Catalog& catalog) {
  auto t = std::make_shared<TraceCli>();
  t->trace = app.add_subcommand("trace", "Trace files: `trace inspect FILE` summarises a trace of any family, "
                                         "and the families' own trace commands");
  t->trace->require_subcommand(1);
  t->inspect = t->trace->add_subcommand(
      "inspect", "Summarise a trace file, read by the family whose reader recognises its first lines");
  t->inspect->add_option("file", t->file, "Trace file (gzip or zstd too), or - for stdin")->required();
  std::vector<std::string> names;
  for (const auto* f : catalog.List())
    if (f->trace_inspector) names.push_back(f->name);
  t->inspect->add_option("--family", t->family, "Read FILE as this family's trace instead of by its first lines")
      ->check(CLI::IsMember(names));
  t->inspect->add_flag("--json", t->json, "Print JSON instead of text");
  for (const auto* f : catalog.List()) {
    if (!f->trace_inspector) continue;
    TraceCli::Inspector i;
    i.family = f;
    std::vector<CLI::Option*> before = t->inspect->get_options();
    try {
      i.run = f->trace_inspector->add_flags(*t->inspect);
    } catch (const CLI::OptionAlreadyAdded& e) {
      KREPLAY_CHECK(false, "family " + f->name + ": a trace inspect flag is already taken: " + e.what());
    }
    KREPLAY_CHECK(i.run, "family " + f->name + ": trace_inspector.add_flags returned no runner");
    for (CLI::Option* o : t->inspect->get_options()) {
      if (std::find(before.begin(), before.end(), o) != before.end()) continue;
      o->description(o->get_description() + " [" + f->name + "]");
      i.flags.push_back(o);
    }
    t->inspectors.push_back(std::move(i));
  }
  t->inspect->footer("Traces read (a flag marked [family] picks that family):" + Readers(*t));
  return t;
}

bool TraceInspectSelected(const TraceCli& t) { return t.inspect && t.inspect->parsed(); }

int RunTraceInspect(const TraceCli& t) {
  // --family, or the one family whose flags were given.
  const TraceCli::Inspector* chosen = nullptr;
  std::string chosen_by;
  for (const auto& i : t.inspectors) {
    if (i.family->name == t.family) {
      chosen = &i;
      chosen_by = "--family " + t.family;
    }
  }
  for (const auto& i : t.inspectors) {
    const CLI::Option* flag = GivenFlag(i);
    if (!flag || chosen == &i) continue;
    if (chosen) {
      return Fail(flag->get_name() + " is for " + i.family->name + " traces, which " + chosen_by + " is not");
    }
    chosen = &i;
    chosen_by = flag->get_name();
  }

  auto src = textio::OpenSource(t.file);
  if (!src.ok()) return Fail(src.status().message(), src.status().code());
  family::TraceInput in;
  in.name = t.file == "-" ? "<stdin>" : t.file;
  in.json = t.json;
  if (chosen) {
    in.source = std::move(*src);
    return chosen->run(std::move(in));
  }

  // Sniff: whole lines of the (decompressed) head, the whole file if shorter.
  textio::Peeked p = textio::Peek(std::move(*src), family::kTraceHeadBytes);
  std::string_view head = p.head;
  if (!p.at_end) {
    size_t nl = head.rfind('\n');
    if (nl != std::string_view::npos) head = head.substr(0, nl + 1);
  }
  for (const auto& i : t.inspectors) {
    if (i.family->trace_inspector->sniff(head)) {
      chosen = &i;
      break;
    }
  }
  if (!chosen) {
    if (!p.error.ok()) return Fail(p.error.message(), p.error.code());
    return Fail(in.name + ": " + (p.head.empty() ? "empty; " : "") +
                "not a trace any family reads. `trace inspect` reads:" + Readers(t) +
                "\nName the family with --family NAME, or give one of its flags (`kreplay trace inspect --help`).");
  }
  in.source = std::move(p.source);
  return chosen->run(std::move(in));
}

}  // namespace kreplay::cli
