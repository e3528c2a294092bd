"""Block cache studies end to end: two small studies (bcache over a cache_size
sweep; the fixed-block LRU next to the one-pass MRC), each with a
block_synthetic workload and a fixture trace, run in one process (--local) and
over the embedded broker with 2 workers give byte-identical results.csv and
curves; the curves and SVG plots are written and well-formed; the fixed-block
figures on the fixture trace equal a plain LRU written here. Malformed block
specs exit 2 naming file:line and the field."""
import collections
import csv
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = os.path.join(HERE, "specs")
BCACHE_SPEC = os.path.join(SPECS, "block-study.yaml")
FIXED_SPEC = os.path.join(SPECS, "block-fixed.yaml")
EXAMPLE_SPEC = os.path.join(h.SOURCE_DIR, "examples", "bcache-tiers.yaml")
TRACE = os.path.join(HERE, "traces", "study.csv")
SIZES = [4 << 20, 8 << 20, 16 << 20]          # block-study.yaml grid
FIXED_SIZES = [1 << 20, 4 << 20, 16 << 20]    # block-fixed.yaml variants
MRC_LABEL = "fixed-block LRU (one-pass MRC)"


def results(path):
    """results.csv as {(variant, workload, seed): {metric: value}}."""
    out = collections.defaultdict(dict)
    with open(path) as f:
        for row in csv.DictReader(f):
            out[(row["variant"], row["workload"], int(row["seed"]))][row["metric"]] = float(row["value"])
    return out


def curves(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def trace_requests():
    """The fixture in kreplay's CSV layout: time_ns,volume,op,offset,bytes,task."""
    with open(TRACE) as f:
        rows = list(csv.reader(f))
    h.check(rows[0] == ["time_ns", "volume", "op", "offset", "bytes", "task"], "fixture header " + str(rows[0]))
    return [(r[1], r[2], int(r[3]), int(r[4])) for r in rows[1:]]


def plain_lru(reqs, cache_bytes, block=4096):
    """Fixed-block LRU: every read and write block access looks up; a miss
    inserts, evicting the least recently used block. Returns (misses,
    accesses, read misses, read accesses)."""
    cap = cache_bytes // block
    lru = collections.OrderedDict()
    misses = accesses = rmisses = raccesses = 0
    for vol, op, off, n in reqs:
        if op not in ("read", "write") or n == 0:
            continue
        for b in range(off // block, (off + n - 1) // block + 1):
            key = (vol, b)
            accesses += 1
            raccesses += op == "read"
            if key in lru:
                lru.move_to_end(key)
                continue
            misses += 1
            rmisses += op == "read"
            if cap == 0:
                continue
            lru[key] = True
            if len(lru) > cap:
                lru.popitem(last=False)
    return misses, accesses, rmisses, raccesses


def check_svgs(out, metrics, labels):
    """One curves-<metric>.svg per metric, well-formed, naming every curve."""
    have_xmllint = shutil.which("xmllint") is not None
    for m in metrics:
        p = os.path.join(out, "curves-%s.svg" % m)
        h.check(os.path.exists(p), "missing %s (have %s)" % (p, sorted(os.listdir(out))))
        if have_xmllint:
            r = subprocess.run(["xmllint", "--noout", p], capture_output=True, text=True, timeout=30)
            h.check(r.returncode == 0, "xmllint %s: %s" % (p, r.stderr))
        root = ET.parse(p).getroot()
        h.check(root.tag.endswith("svg"), "%s: root element %s" % (p, root.tag))
        text = "".join(root.itertext())
        for label in labels:
            h.check(label in text, "%s: legend lacks %r" % (p, label))
    return have_xmllint


def check_bcache(out):
    got = results(os.path.join(out, "results.csv"))
    reqs = trace_requests()
    reads = sum(1 for r in reqs if r[1] == "read")
    variants = ["%s[cache_size=%s]" % (v, s) for v in ("wt", "wb") for s in ("4MiB", "8MiB", "16MiB")]
    keys = {(v, w, s) for v in variants for w in ("hot-and-scan", "fixture") for s in (1, 2)}
    h.check(set(got) == keys, "bcache study runs: %s" % sorted(set(got) ^ keys))
    for (v, w, s), m in got.items():
        want = len(reqs) if w == "fixture" else 3000
        h.check(m["requests"] == want, "%s/%s/%d: requests %s, expected %d" % (v, w, s, m["requests"], want))
        if w == "fixture":
            # sysfs accounting (request.c, cached_dev_read_done_bh ->
            # bch_mark_cache_accounting): every read is exactly one of hit,
            # miss, bypass hit, bypass miss; the fixture is 4 KiB aligned.
            n = m["cache_hits"] + m["cache_misses"] + m["cache_bypass_hits"] + m["cache_bypass_misses"]
            h.check(n == reads, "%s/fixture/%d: hits+misses+bypass = %s, the trace has %d reads" % (v, s, n, reads))
        h.check(0 <= m["cache_hit_ratio"] <= 100, "%s/%s: cache_hit_ratio %s" % (v, w, m["cache_hit_ratio"]))
        if "wt[" in v:
            h.check(m["dirty_data_max_bytes"] == 0, "writethrough %s/%s made dirty data" % (v, w))
    rows = curves(os.path.join(out, "curves.csv"))
    metrics = ["cache_hit_ratio", "read_latency_p99_us", "ssd_bytes_written", "requests"]
    seen = collections.defaultdict(list)
    for r in rows:
        h.check(r["x_param"] == "cache_size" and r["x_unit"] == "bytes", "curve row axis: %s" % r)
        h.check(r["n"] == "2", "curve row over %s seeds, expected 2: %s" % (r["n"], r))
        seen[(r["curve"], r["workload"], r["metric"])].append(int(float(r["x"])))
        if r["metric"] == "requests":
            want = len(reqs) if r["workload"] == "fixture" else 3000
            h.check(float(r["mean"]) == want, "requests curve point %s" % r)
    want_keys = {(c, w, m) for c in ("wt", "wb") for w in ("hot-and-scan", "fixture") for m in metrics}
    h.check(set(seen) == want_keys, "curves: %s" % sorted(set(seen) ^ want_keys))
    for k, xs in seen.items():
        h.check(xs == SIZES, "curve %s x = %s, expected %s" % (k, xs, SIZES))
    # A curve's point is the mean over seeds of the runs at that size.
    for r in rows:
        v = "%s[cache_size=%dMiB]" % (r["curve"], int(float(r["x"])) >> 20)
        vals = [got[(v, r["workload"], s)][r["metric"]] for s in (1, 2)]
        h.check(abs(float(r["mean"]) - sum(vals) / 2) <= 1e-9 * max(1.0, abs(sum(vals))),
                "curve point %s is not the mean of %s" % (r, vals))
    return check_svgs(out, metrics, ["wt", "wb"])


def check_fixed(out):
    got = results(os.path.join(out, "results.csv"))
    reqs = trace_requests()
    names = {1 << 20: "lru-1m", 4 << 20: "lru-4m", 16 << 20: "lru-16m"}
    ref = {}
    for size in FIXED_SIZES:
        misses, accesses, rmisses, raccesses = plain_lru(reqs, size)
        ref[size] = misses / accesses
        for s in (1, 2):
            m = got[(names[size], "fixture", s)]
            h.check((m["misses"], m["block_accesses"]) == (misses, accesses),
                    "%s/fixture: misses/accesses %s/%s, the plain LRU gives %d/%d" %
                    (names[size], m["misses"], m["block_accesses"], misses, accesses))
            h.check(abs(m["read_miss_ratio"] - rmisses / raccesses) < 1e-12, "%s: read_miss_ratio" % names[size])
            h.check(m["requests"] == sum(1 for r in reqs if r[1] in ("read", "write")), "%s: requests" % names[size])
    # The one-pass curve equals the per-size simulation at every size, on both
    # workloads and every seed (and so the plain LRU on the fixture).
    for w in ("hot-and-scan", "fixture"):
        for s in (1, 2):
            mrc = got[("mrc", w, s)]
            for size in FIXED_SIZES:
                a = mrc["fixed_lru_miss_ratio.%d" % size]
                b = got[(names[size], w, s)]["miss_ratio"]
                h.check(abs(a - b) < 1e-12, "%s seed %d size %d: MRC %r vs block.lru %r" % (w, s, size, a, b))
                if w == "fixture":
                    h.check(abs(a - ref[size]) < 1e-12, "fixture: MRC %r vs plain LRU %r" % (a, ref[size]))
    rows = [r for r in curves(os.path.join(out, "curves.csv")) if r["curve"] == MRC_LABEL]
    h.check(len(rows) == 6, "expected 6 MRC curve points, got %d" % len(rows))
    for r in rows:
        h.check(r["metric"] == "miss_ratio" and r["x_param"] == "cache_size", "MRC row %s" % r)
        if r["workload"] == "fixture":
            h.check(abs(float(r["mean"]) - ref[int(float(r["x"]))]) < 1e-12, "MRC curve point %s" % r)
    return check_svgs(out, ["miss_ratio"], [MRC_LABEL])


def same_outputs(a, b, label):
    for f in ["results.csv", "curves.csv"] + sorted(x for x in os.listdir(a) if x.endswith(".svg")):
        h.check(os.path.exists(os.path.join(b, f)), "%s: distributed run lacks %s" % (label, f))
        h.check(h.read(os.path.join(a, f)) == h.read(os.path.join(b, f)),
                "%s: %s differs between --local and the 2-worker cluster" % (label, f))


def bad_specs(d):
    """Each malformed spec exits 2; every expected file:line: field appears."""
    base = h.read(BCACHE_SPEC)
    tdir = os.path.join(d, "traces")
    os.makedirs(tdir, exist_ok=True)
    os.makedirs(os.path.join(d, "specs"), exist_ok=True)
    shutil.copy(TRACE, tdir)
    # A fixture with one bad number, for the nested trace error.
    lines = h.read(TRACE).split("\n")
    bad_line = next(i for i, l in enumerate(lines) if l.endswith(",4096,1"))
    lines[bad_line] = lines[bad_line][:-len(",4096,1")] + ",4k,1"
    with open(os.path.join(tdir, "bad.csv"), "w") as f:
        f.write("\n".join(lines))

    def line_of(text, needle):
        for i, l in enumerate(text.split("\n")):
            if needle in l:
                return i + 1
        raise h.Fail("%r not in spec" % needle)

    cases = [
        ("unknown fields",
         base.replace("    blocktrace: ../traces/study.csv", "    blocktrace: ../traces/study.csv\n    fromat: csv")
             .replace("cache_mode: writethrough,", "cache_mode: writethrough, cache_sise: 1MiB,"),
         [("fromat: csv", "workloads[1].fromat"), ("cache_sise", "variants[0].params.cache_sise")]),
        ("family mix", base.replace("grid:", "  - {name: cfs, model: sched.cfs}\ngrid:"),
         [("sched.cfs", "variants[2].model")]),
        ("platforms", base.replace("workloads:", "platforms: [juno-r0]\nworkloads:", 1),
         [("platforms:", "platforms")]),
        ("missing trace", base.replace("study.csv", "nope.csv"),
         [("nope.csv", "workloads[1].blocktrace")]),
        ("sched workload", base.replace("  - name: fixture", "  - name: rt\n    rtapp: rt.json\n  - name: fixture"),
         [("rtapp: rt.json", "workloads[1].rtapp")]),
    ]
    for i, (label, text, wants) in enumerate(cases):
        p = os.path.join(d, "specs", "bad%d.yaml" % i)
        with open(p, "w") as f:
            f.write(text)
        r = subprocess.run([h.KREPLAY, "run", p, "--local", "--out", os.path.join(d, "o%d" % i)],
                           capture_output=True, text=True, timeout=60)
        h.check(r.returncode == 2, "%s: exit %d, expected 2: %s" % (label, r.returncode, r.stderr[-2000:]))
        for needle, field in wants:
            want = "bad%d.yaml:%d: %s" % (i, line_of(text, needle), field)
            h.check(want in r.stderr, "%s: stderr lacks %r:\n%s" % (label, want, r.stderr))
        if label in ("family mix", "platforms", "sched workload"):  # the message says why: the family
            h.check("family 'blockcache'" in r.stderr, "%s: no family in:\n%s" % (label, r.stderr))
        h.check(not os.path.exists(os.path.join(d, "o%d" % i, "results.csv")), "%s: wrote results" % label)
    # A trace error: the spec's line and field, then the trace's file:line:field.
    text = base.replace("study.csv", "bad.csv")
    p = os.path.join(d, "specs", "badtrace.yaml")
    with open(p, "w") as f:
        f.write(text)
    r = subprocess.run([h.KREPLAY, "run", p, "--local"], capture_output=True, text=True, timeout=60, cwd=d)
    want = "badtrace.yaml:%d: workloads[1].blocktrace:" % line_of(text, "bad.csv")
    h.check(r.returncode == 2 and want in r.stderr, "bad trace: exit %d, lacks %r:\n%s" % (r.returncode, want, r.stderr))
    h.check(re.search(r"bad\.csv:%d: field 'size'" % (bad_line + 1), r.stderr),
            "bad trace: no bad.csv:%d: field 'size' in:\n%s" % (bad_line + 1, r.stderr))
    return len(cases) + 1


def test():
    d = h.workdir("blockstudy")
    nbad = bad_specs(d)
    local = {}
    for label, spec, check in (("bcache", BCACHE_SPEC, check_bcache), ("fixed", FIXED_SPEC, check_fixed),
                               ("example", EXAMPLE_SPEC, None)):
        out = os.path.join(d, "local-" + label)
        h.run_local(spec, out)
        local[label] = out
        if check:
            check(out)
    items = 0
    c = h.Cluster("blockstudy", workers=2)
    try:
        # The shipped example (issue 3: it runs over the embedded broker with 2
        # workers and equals the single-process run), then the two test studies.
        for label, spec in (("example", EXAMPLE_SPEC), ("bcache", BCACHE_SPEC), ("fixed", FIXED_SPEC)):
            out = os.path.join(c.dir, "out-" + label)
            r = c.submit(spec, out, timeout=120)
            h.check(r.returncode == 0, "%s: submit --wait failed (%d): %s\n%s" %
                    (label, r.returncode, r.stderr[-3000:], c.logs()))
            same_outputs(local[label], out, label)
        # Both workers took part: 24 + 16 runs (no run key is shared between
        # the studies: different models), each recorded once.
        h.check(c.recorded() == 64, "ledger holds %d results, expected 24 (example) + 24 + 16" % c.recorded())
        per_worker = []
        for w in c.workers:
            m = h.scrape(w.metrics_port)
            per_worker.append(sum(v for k, v in m.items() if k == "kreplay_worker_work_items_total"))
        # Which worker takes which item is timing (tiny runs: the first worker
        # to report its partitions may take them all); that they were all
        # taken is not: every item's runs were claimed or skipped by a worker.
        # block.lru has a batch function: its runs that differ only in
        # cache_size share a work item (one pass over the trace), so the work
        # topic holds fewer items than there are runs; bcache and block.mrc
        # runs travel one per item. Results above equal the local run anyway.
        k = subprocess.run(["kcat", "-C", "-b", c.bootstrap, "-t", "kreplay.work", "-e", "-q", "-f", "%k\n"],
                           capture_output=True, text=True, timeout=60)
        h.check(k.returncode == 0, "kcat failed: " + k.stderr)
        items = len([x for x in k.stdout.split() if x])
        # 24 + 24 bcache + 4 block.mrc items, and the 12 block.lru runs in
        # batches of 3 sizes: 4 items; re-publication could only add items.
        h.check(56 <= items < 64, "work topic holds %d items for 64 runs, expected 56 (batches of block.lru runs)" % items)
        h.check(sum(per_worker) >= items, "workers handled %s work items, the topic holds %d" % (per_worker, items))
    finally:
        c.close()
    print("bad specs %d; 3 studies (24 + 24 + 16 runs) in %d work items, local == distributed" % (nbad, items))


if __name__ == "__main__":
    h.main(test)
