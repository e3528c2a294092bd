"""Memory studies end to end (the `memory` model family).

- `kreplay trace inspect` on the hand-written fixture traces/memory-cma.trace:
  calls, sizes, outcomes, busy retries, latencies, releases and background
  rates equal the figures derived by hand from the fixture (its header lists
  them); --json keeps the calls in trace order; a gzip'd copy on stdin reads
  the same; a malformed line exits 2 naming file:LINE (stdin too); block
  traces still go to the block family.
- Malformed memory specs (unknown profile, a bad requests.sizes entry, a
  memtrace: of a missing or malformed file) exit 2 from `spec check` and
  `run`, naming spec file:line and the field, and so does an area the
  profile lacks (WorkloadKind::check_system, at load).
- `kreplay memprofiles` lists the shipped profiles; `memprofiles armv7-800m`
  prints YAML that a study takes back as a profile file, giving the same
  results as the shipped name; `models describe memory.cma` documents it.
- specs/memory-study.yaml (five models, `memory:` and `memtrace:` workloads,
  2 seeds, 30 runs) run with --local and over the embedded broker with 2
  workers give byte-identical results.csv and curves.csv and equal
  results.json runs.
"""
import collections
import csv
import gzip
import json
import os
import re
import shutil
import subprocess

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = os.path.join(HERE, "specs")
STUDY = os.path.join(SPECS, "memory-study.yaml")
PROFILE = os.path.join(SPECS, "memory-small-profile.yaml")
TRACE = os.path.join(HERE, "traces", "memory-cma.trace")
BLOCK_TRACE = os.path.join(HERE, "traces", "blkparse.txt")
MODELS = ["memory.cma", "memory.cma.android", "memory.gcma", "memory.carveout", "memory.buddy"]
SHIPPED_PROFILES = ["arm64-phone-8g", "armv7-800m", "x86-server-16g"]


# The fixture as derived by hand from its lines (the header of
# traces/memory-cma.trace says the same in words). Times relative to the
# first event, 10.000000 s; the last event is at 10.500000 s.
SPAN_NS = 500_000_000
EVENTS = 29          # event lines of the cma/kmem/migrate groups
OTHER_EVENTS = 1     # one sched_switch
# (at_ns, pages, align, finished, ok, latency_ns, hold_ns, busy_retries, errorno)
CALLS = [
    (0, 1024, 8, True, True, 2_000_000, 100_000_000, 1, 0),
    (400_000, 16, 4, True, True, 300_000, 249_600_000, 0, 0),
    (200_000_000, 256, 8, True, False, 1_000_000, -1, 2, -16),
    (300_000_000, 1, 0, True, True, 50_000, -1, 0, 0),
    (400_000_000, 1024, 8, True, True, 3_000_000, 97_000_000, 0, 0),
    (480_000_000, 64, 6, False, False, -1, -1, 0, None),
]
# Pages by migratetype (mm_page_alloc): movable 1 + 4 + 1, unmovable 1,
# reclaimable 2 (order 1); the failed order-3 allocation adds none. Freed:
# order 2 (4) + one batched page.
PAGES_ALLOC = {"unmovable": 1, "movable": 6, "reclaimable": 2, "highatomic": 0}
PAGES_FREED = 5


run, write, line_of = h.kreplay, h.write, h.line_of


# ------------------------------------------------------------------ trace inspect

def expected_text_figures():
    ok = [c for c in CALLS if c[3] and c[4]]
    failed = [c for c in CALLS if c[3] and not c[4]]
    unfinished = [c for c in CALLS if not c[3]]
    lat = sorted(c[5] for c in CALLS if c[5] >= 0)
    sizes = collections.Counter(c[1] for c in CALLS)
    return {
        "calls": len(CALLS), "ok": len(ok), "ok_pages": sum(c[1] for c in ok), "failed": len(failed),
        "unfinished": len(unfinished), "retries": sum(c[7] for c in CALLS),
        "sizes": " ".join("%dx%d" % (p, n) for p, n in sorted(sizes.items())),
        # The reader's quantile: the sorted value at index min(n - 1, floor(q * n)).
        "p50_us": lat[min(len(lat) - 1, int(0.5 * len(lat)))] / 1e3,
        "p99_us": lat[min(len(lat) - 1, int(0.99 * len(lat)))] / 1e3,
        "max_us": lat[-1] / 1e3, "lat_n": len(lat),
    }


def check_inspect_text(out, name):
    f = expected_text_figures()
    with open(TRACE) as fh:
        nlines = len(fh.read().splitlines())
    want = [
        "memory trace %s: %d events over %.3f s (%d lines, %d other events skipped)"
        % (name, EVENTS, SPAN_NS / 1e9, nlines, OTHER_EVENTS),
        "contiguous allocations: %d cma_alloc calls, %d succeeded (%d pages), %d failed, %d unfinished, %d busy retries"
        % (f["calls"], f["ok"], f["ok_pages"], f["failed"], f["unfinished"], f["retries"]),
        "  areas: reserved",
        "  sizes (pages x calls): " + f["sizes"],
        "  latency (start to finish): p50 %.1f us, p99 %.1f us, max %.1f us over %d calls"
        % (f["p50_us"], f["p99_us"], f["max_us"], f["lat_n"]),
        "  releases: 4 (1 without a matching allocation)",
        "background page rates (kmem:mm_page_alloc/free, pages/s): unmovable %.0f, movable %.0f, reclaimable %.0f, "
        "high-atomic %.0f; freed %.0f; 1 failed allocations"
        % tuple(x * 1e9 / SPAN_NS for x in (PAGES_ALLOC["unmovable"], PAGES_ALLOC["movable"],
                                             PAGES_ALLOC["reclaimable"], PAGES_ALLOC["highatomic"], PAGES_FREED)),
        "  fragmentation: 1 fallback allocations (mm_page_alloc_extfrag), 1 took a pageblock over",
        "  migration (mm_migrate_pages): 94 pages moved, 2 failed; by reason: compaction 32 contig_range 64",
    ]
    got = out.rstrip("\n").split("\n")
    h.check(got == want, "trace inspect %s:\n%s\nexpected:\n%s" % (name, out, "\n".join(want)))


def check_inspect_json(j, name):
    h.check(j["path"] == name, "json path %r" % j["path"])
    h.check((j["events"], j["other_events"], j["span_ns"], j["clamped_times"]) == (EVENTS, OTHER_EVENTS, SPAN_NS, 0),
            "json counts: %s" % {k: j[k] for k in ("events", "other_events", "span_ns", "clamped_times")})
    h.check(j["areas"] == ["reserved"], "json areas %s" % j["areas"])
    got = [(c["at_ns"], c["pages"], c["align"], c["finished"], c["ok"], c["latency_ns"], c["hold_ns"],
            c["busy_retries"], c.get("errorno")) for c in j["calls"]]
    h.check(got == CALLS, "json calls (trace order):\n%s\nexpected:\n%s" % (got, CALLS))
    h.check(all(c["area"] == "reserved" for c in j["calls"]), "json call areas")
    h.check((j["releases"], j["unmatched_releases"], j["alloc_failures"]) == (4, 1, 1), "json releases/failures")
    for mt, n in PAGES_ALLOC.items():
        h.check(j["pages_alloc_per_s"][mt] == n * 1e9 / SPAN_NS, "json %s rate %s" % (mt, j["pages_alloc_per_s"]))
    h.check(j["pages_freed_per_s"] == PAGES_FREED * 1e9 / SPAN_NS, "json freed rate %s" % j["pages_freed_per_s"])
    h.check((j["extfrag_events"], j["extfrag_ownership_changes"]) == (1, 1), "json extfrag")
    h.check((j["migrate_succeeded"], j["migrate_failed"]) == (94, 2), "json migrate")
    h.check(j["migrate_reasons"] == {"compaction": 32, "contig_range": 64}, "json reasons %s" % j["migrate_reasons"])


def trace_inspect(d):
    r = run(["trace", "inspect", TRACE])
    h.check(r.returncode == 0, "trace inspect: exit %d: %s" % (r.returncode, r.stderr))
    check_inspect_text(r.stdout, TRACE)
    r = run(["trace", "inspect", "--json", TRACE])
    h.check(r.returncode == 0, "trace inspect --json: exit %d: %s" % (r.returncode, r.stderr))
    check_inspect_json(json.loads(r.stdout), TRACE)
    # --family memory gives the same; a gzip'd copy on stdin reads the same.
    r2 = run(["trace", "inspect", "--json", "--family", "memory", TRACE])
    h.check(r2.returncode == 0 and r2.stdout == r.stdout, "--family memory differs: %s" % r2.stderr)
    raw = h.read(TRACE).encode()
    for args in (["trace", "inspect", "-"], ["trace", "inspect", "--json", "-"]):
        p = subprocess.run([h.KREPLAY] + args, input=gzip.compress(raw), capture_output=True, timeout=60)
        h.check(p.returncode == 0, "%s < gzip: exit %d: %s" % (args, p.returncode, p.stderr.decode()))
        if "--json" in args:
            check_inspect_json(json.loads(p.stdout), "<stdin>")
        else:
            check_inspect_text(p.stdout.decode(), "<stdin>")
    gz = os.path.join(d, "memory-cma.trace.gz")
    with open(gz, "wb") as f:
        f.write(gzip.compress(raw))
    r = run(["trace", "inspect", gz])
    h.check(r.returncode == 0, "inspect .gz: %s" % r.stderr)
    check_inspect_text(r.stdout, gz)

    # A malformed line (line 36: a count that is not a number) exits 2 naming
    # file:LINE, from a file and from stdin.
    text = h.read(TRACE)
    needle = "cma_alloc_start: name=reserved count=16 align=4"
    h.check(needle in text, "fixture lacks %r" % needle)
    bad_text = text.replace(needle, needle.replace("count=16", "count=sixteen"))
    n = line_of(bad_text, "count=sixteen")
    bad = write(os.path.join(d, "bad.trace"), bad_text)
    r = run(["trace", "inspect", bad])
    h.check(r.returncode == 2, "malformed trace: exit %d, expected 2: %s" % (r.returncode, r.stderr))
    h.check("%s:%d: cma_alloc_start: bad count 'sixteen'" % (bad, n) in r.stderr, "malformed trace: %s" % r.stderr)
    h.check(r.stdout == "", "malformed trace printed a summary: %s" % r.stdout)
    p = subprocess.run([h.KREPLAY, "trace", "inspect", "--json", "-"], input=gzip.compress(bad_text.encode()),
                       capture_output=True, timeout=60)
    h.check(p.returncode == 2 and ("<stdin>:%d:" % n).encode() in p.stderr,
            "malformed trace on stdin: exit %d: %s" % (p.returncode, p.stderr.decode()))

    # Block traces are still the block family's.
    r = run(["trace", "inspect", BLOCK_TRACE])
    h.check(r.returncode == 0 and re.search(r"^format\s+blkparse$", r.stdout, re.M),
            "block trace: exit %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
    h.check("memory trace" not in r.stdout, "block trace read as a memory trace")
    r = run(["trace", "inspect", "--family", "memory", BLOCK_TRACE])
    h.check(r.returncode == 2 and "%s:1:" % BLOCK_TRACE in r.stderr,
            "block trace as --family memory: exit %d: %s" % (r.returncode, r.stderr))
    return 5


# ------------------------------------------------------------------ bad specs

GOOD = """study: it-memory-bad
seeds: 1
platforms: [memory-small-profile.yaml]
workloads:
  - name: gen
    memory:
      requests: {sizes: [1, 16, 256], per_size: 2, area: reserved}
  - name: rec
    memtrace: ../traces/memory-cma.trace
    initial: {used: 70%, anon: 40, file_clean: 40, kernel: 20}
variants:
  - {name: cma, model: memory.cma}
  - {name: buddy, model: memory.buddy}
"""


def bad_specs(d):
    """Each malformed spec exits 2 from `spec check` and `run`; stderr names
    spec:line: field (and, for a broken trace, trace:line)."""
    sdir = os.path.join(d, "specs")
    tdir = os.path.join(d, "traces")
    os.makedirs(tdir, exist_ok=True)
    os.makedirs(sdir, exist_ok=True)
    shutil.copy(PROFILE, sdir)
    shutil.copy(TRACE, tdir)
    text = h.read(TRACE)
    bad_line = line_of(text, "cma_alloc_start: name=reserved count=256 align=8")
    lines = text.split("\n")
    lines[bad_line - 1] = lines[bad_line - 1].replace("align=8", "align=x8")
    write(os.path.join(tdir, "bad.trace"), "\n".join(lines))

    good = write(os.path.join(sdir, "good.yaml"), GOOD)
    r = run(["spec", "check", good])
    h.check(r.returncode == 0, "the good spec fails `spec check`: %s" % r.stderr)

    cases = [
        ("unknown profile", GOOD.replace("[memory-small-profile.yaml]", "[armv7-8000m]"),
         "armv7-8000m", "platforms[0]: unknown memory profile 'armv7-8000m' (did you mean 'armv7-800m'?)"),
        ("missing profile file", GOOD.replace("memory-small-profile.yaml", "nope.yaml"),
         "nope.yaml", "platforms[0]:"),
        ("bad size", GOOD.replace("sizes: [1, 16, 256]", "sizes: [1, 16 pages, 256]"),
         "16 pages", "workloads[0].memory.requests.sizes[1]: expected pages (an integer) or a size such as 64MiB"),
        ("zero size", GOOD.replace("sizes: [1, 16, 256]", "sizes: [1, 16, 0]"),
         "sizes: [1, 16, 0]", "workloads[0].memory.requests.sizes[2]: must be 1 .. 2^32 pages"),
        ("missing trace", GOOD.replace("memory-cma.trace", "nope.trace"),
         "nope.trace", "workloads[1].memtrace: "),
        ("malformed trace", GOOD.replace("memory-cma.trace", "bad.trace"),
         "bad.trace", "workloads[1].memtrace: "),
        ("unknown option", GOOD.replace("    initial: {used", "    inital: {used"),
         "inital:", "workloads[1].inital"),
    ]
    for i, (label, spec_text, needle, field_msg) in enumerate(cases):
        p = write(os.path.join(sdir, "bad%d.yaml" % i), spec_text)
        want = "bad%d.yaml:%d: %s" % (i, line_of(spec_text, needle), field_msg)
        for args in (["spec", "check", p], ["run", p, "--local", "--out", os.path.join(d, "o%d" % i)]):
            r = run(args)
            h.check(r.returncode == 2, "%s: `%s` exit %d, expected 2: %s" % (label, args[0], r.returncode, r.stderr))
            h.check(want in r.stderr, "%s: `%s` stderr lacks %r:\n%s" % (label, args[0], want, r.stderr))
        h.check(not os.path.exists(os.path.join(d, "o%d" % i, "results.csv")), "%s: wrote results" % label)
        if label == "missing trace":
            h.check("nope.trace" in r.stderr.split(want, 1)[1].split("\n")[0],
                    "missing trace: no path in %s" % r.stderr)
        if label == "malformed trace":
            h.check(re.search(r"bad\.trace:%d: cma_alloc_start: bad align 'x8'" % bad_line, r.stderr),
                    "malformed trace: no bad.trace:%d: in:\n%s" % (bad_line, r.stderr))

    # An area the profile does not have.
    spec_text = GOOD.replace("area: reserved", "area: camera")
    p = write(os.path.join(sdir, "area.yaml"), spec_text)
    out = os.path.join(d, "o-area")
    c = run(["spec", "check", p])
    r = run(["run", p, "--local", "--out", out])
    h.check(r.returncode == 2, "unknown area: `run` exit %d, expected 2: %s" % (r.returncode, r.stderr))
    h.check("CMA area 'camera'" in r.stderr and "it-armv7-128m has reserved" in r.stderr,
            "unknown area: `run` does not name the area and the profile's:\n%s" % r.stderr)
    h.check(not os.path.exists(os.path.join(out, "results.csv")), "unknown area: wrote results")
    want = "area.yaml:%d: workloads[0].memory.requests.area" % line_of(spec_text, "area: camera")
    h.check(c.returncode == 2 and want in c.stderr, "unknown area: `spec check` lacks %r: %s" % (want, c.stderr))
    h.check(want in r.stderr, "unknown area: `run` lacks %r: %s" % (want, r.stderr))
    return len(cases) + 1


# ------------------------------------------------------------------ catalog commands

def catalog(d):
    r = run(["memprofiles"])
    h.check(r.returncode == 0, "memprofiles: %s" % r.stderr)
    rows = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    h.check(rows == SHIPPED_PROFILES, "memprofiles lists %s" % rows)
    h.check(re.search(r"^armv7-800m\s+arm\s+800 MiB,\s+4 CPUs, CMA\s+256 MiB in 1 area\(s\)$", r.stdout, re.M),
            "memprofiles armv7-800m row:\n" + r.stdout)
    r = run(["memprofiles", "armv7-800m"])
    h.check(r.returncode == 0 and "name: armv7-800m" in r.stdout, "memprofiles armv7-800m: %s" % r.stderr)
    r2 = run(["memprofiles", "armv7-8000m"])
    h.check(r2.returncode == 2 and "armv7-8000m" in r2.stderr and "armv7-800m" in r2.stderr,
            "memprofiles unknown: exit %d: %s" % (r2.returncode, r2.stderr))

    # The printed YAML is a profile file a study takes: same system, same
    # results as the shipped name (the run keys name the profile's digest).
    pdir = os.path.join(d, "profile")
    write(os.path.join(pdir, "exported.yaml"), r.stdout)
    spec = """study: it-memory-exported
seeds: 1
platforms: [%s]
workloads:
  - name: w
    memory:
      requests: {sizes: [1, 256], per_size: 2, start: 100ms, hold: 10ms}
variants:
  - {name: cma, model: memory.cma}
  - {name: carveout, model: memory.carveout}
"""
    outs = []
    for label, plat in (("file", "./exported.yaml"), ("shipped", "armv7-800m")):
        p = write(os.path.join(pdir, label + ".yaml"), spec % plat)
        out = os.path.join(pdir, "out-" + label)
        h.run_local(p, out)
        outs.append(out)
    a, b = (h.read(os.path.join(o, "results.csv")) for o in outs)
    h.check(a == b, "the exported armv7-800m gives other results than the shipped one")
    runs = json.load(open(os.path.join(outs[0], "results.json")))["runs"]
    h.check(len(runs) == 2 and all(x["platform"] == "armv7-800m" and x["scalars"]["calls"]["value"] == 4 for x in runs),
            "exported profile runs: %s" % [(x["platform"], x["scalars"].get("calls")) for x in runs])

    r = run(["models", "describe", "memory.cma"])
    h.check(r.returncode == 0, "models describe memory.cma: %s" % r.stderr)
    for want in ("memory.cma", "memory family", "mirrors: mm/cma.c", "kernel_version", "cpu", "alloc_latency_p99_ms",
                 "busy_retries", "pages_migrated", "calls"):
        h.check(want in r.stdout, "models describe memory.cma lacks %r:\n%s" % (want, r.stdout))
    r = run(["models"])
    h.check(r.returncode == 0 and all(re.search(r"^%s\s" % re.escape(m), r.stdout, re.M) for m in MODELS),
            "models does not list every memory model:\n" + r.stdout)
    r = run(["models", "describe", "memory.cmaa"])
    h.check(r.returncode == 2 and "memory.cma" in r.stderr, "models describe memory.cmaa: %s" % r.stderr)
    return 3


# ------------------------------------------------------------------ the study

def results(path):
    out = collections.defaultdict(dict)
    with open(path) as f:
        for row in csv.DictReader(f):
            out[(row["variant"], row["workload"], int(row["seed"]))][row["metric"]] = float(row["value"])
    return out


def check_study(out):
    got = results(os.path.join(out, "results.csv"))
    variants = ["cma", "cma-android", "gcma", "carveout", "buddy"]
    calls = {"camera": 12, "camera-as-trace": 6, "fixture": len(CALLS)}
    keys = {(v, w, s) for v in variants for w in calls for s in (1, 2)}
    h.check(set(got) == keys, "study runs: %s" % sorted(set(got) ^ keys))
    for (v, w, s), m in got.items():
        h.check(m["calls"] == calls[w], "%s/%s/%d: calls %s, expected %d" % (v, w, s, m["calls"], calls[w]))
        n = m["alloc_success"] + m["alloc_fail"] + m["alloc_unfinished"]
        h.check(n == calls[w], "%s/%s/%d: success + fail + unfinished = %s of %d calls" % (v, w, s, n, calls[w]))
        h.check(0 <= m["alloc_success_ratio"] <= 100,
                "%s/%s/%d: alloc_success_ratio %s" % (v, w, s, m["alloc_success_ratio"]))
        # A reservation (carve-out, GCMA) takes the profile's 32 MiB area from the system; CMA and buddy none.
        want_resv = 32 if v in ("gcma", "carveout") else 0
        h.check(m["reserved_mib"] == want_resv, "%s/%s/%d: reserved_mib %s" % (v, w, s, m["reserved_mib"]))
        if v in ("gcma", "carveout", "buddy"):
            h.check(m["pages_migrated"] == 0, "%s/%s/%d: %s migrated pages" % (v, w, s, m["pages_migrated"]))
    runs = json.load(open(os.path.join(out, "results.json")))["runs"]
    h.check(len(runs) == 30, "results.json holds %d runs" % len(runs))
    h.check({r["model"] for r in runs} == set(MODELS), "models run: %s" % {r["model"] for r in runs})
    h.check({r["platform"] for r in runs} == {"it-armv7-128m"}, "platforms: %s" % {r["platform"] for r in runs})
    # A recorded trace is one workload whatever the seed; generated ones are one per seed.
    digests = collections.defaultdict(set)
    for r in runs:
        digests[r["workload"]].add(r["workload_digest"])
    h.check(len(digests["fixture"]) == 1, "the fixture has %d digests" % len(digests["fixture"]))
    h.check(len(digests["camera"]) == 2, "camera has %d digests over 2 seeds" % len(digests["camera"]))
    h.check(os.path.exists(os.path.join(out, "curves-alloc_latency_ms.svg")), "no latency curve")


def same_outputs(a, b):
    for f in ("results.csv", "curves.csv"):
        h.check(os.path.exists(os.path.join(b, f)), "distributed run lacks %s" % f)
        h.check(h.read(os.path.join(a, f)) == h.read(os.path.join(b, f)),
                "%s differs between --local and the 2-worker cluster" % f)
    ja = json.load(open(os.path.join(a, "results.json")))
    jb = json.load(open(os.path.join(b, "results.json")))
    h.check(ja["runs"] == jb["runs"], "results.json runs differ between --local and the 2-worker cluster")


def study(d):
    local = os.path.join(d, "local")
    h.run_local(STUDY, local)
    check_study(local)
    c = h.Cluster("memstudy", workers=2)
    try:
        out = os.path.join(c.dir, "out")
        r = c.submit(STUDY, out, timeout=180)
        h.check(r.returncode == 0, "submit --wait failed (%d): %s\n%s" % (r.returncode, r.stderr[-3000:], c.logs()))
        same_outputs(local, out)
        h.check(c.recorded() == 30, "the ledger holds %d results, expected 30" % c.recorded())
    finally:
        c.close()


def failed_run_local(d):
    """A run that fails when it runs (memory.cma on a profile without a CMA
    area, which memory.buddy can use): `run --local` counts it in its
    progress as the controller does, exits 2 and names the run."""
    prof = h.read(PROFILE).split("cma_areas:")[0].replace("name: it-armv7-128m", "name: it-no-cma")
    write(os.path.join(d, "no-cma.yaml"), prof)
    spec = write(os.path.join(d, "fail.yaml"), """study: fail-local
seeds: 1
platforms: [no-cma.yaml]
workloads:
  - name: w
    memory:
      requests: {sizes: [1], per_size: 1}
      initial: {used: 10%}
variants:
  - name: cma
    model: memory.cma
  - name: buddy
    model: memory.buddy
""")
    r = run(["run", spec, "--local", "--out", os.path.join(d, "o-fail"), "--progress", "plain"])
    h.check(r.returncode == 2, "a failing run: exit %d, expected 2: %s" % (r.returncode, r.stderr))
    h.check("2/2 runs (0 reused, 1 failed)" in r.stderr, "progress does not count the failed run:\n" + r.stderr)
    h.check("run cma: it-no-cma has no CMA area" in r.stderr, "the failure is not named:\n" + r.stderr)


def test():
    d = h.workdir("memstudy")
    ninspect = trace_inspect(d)
    nbad = bad_specs(d)
    ncat = catalog(d)
    failed_run_local(d)
    study(d)
    print("trace inspect %d ways; bad specs %d; catalog commands %d; 30 memory runs, local == 2 workers"
          % (ninspect, nbad, ncat))


if __name__ == "__main__":
    h.main(test)
