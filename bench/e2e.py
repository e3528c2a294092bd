#!/usr/bin/env python3
"""End-to-end benchmark (run by hand; prints figures and ratios, asserts nothing
about speed):

1. Trace throughput: a >100 MiB workload through the embedded broker into 2
   workers; records/s and MB/s as measured by the workers (open to last chunk).
2. Distributed overhead: bench/specs/e2e.yaml in one process (2 threads) vs
   broker + controller + 2 workers x 1 thread (same total threads), wall time
   ratio (target <= 1.3x), and a check that the results are bit-identical.

Usage: bench/e2e.py [--kreplay build/bin/kreplay] [--skip-trace] [--skip-ratio] [--trace-ratio SEEDS]
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def trace_throughput(h):
    spec = os.path.join(ROOT, "tests", "integration", "specs", "big.yaml")
    c = h.Cluster("bench-trace", workers=2)
    try:
        t0 = time.time()
        r = c.submit(spec, os.path.join(c.dir, "out"))
        wall = time.time() - t0
        if r.returncode != 0:
            sys.exit("trace benchmark failed: " + r.stderr[-2000:])
        records = seconds = nbytes = 0.0
        for w in c.workers:
            m = h.scrape(w.metrics_port)
            records += m.get("kreplay_worker_trace_records_total", 0)
            seconds += m.get("kreplay_worker_trace_fetch_seconds_total", 0)
            nbytes += m.get("kreplay_worker_trace_read_bytes_total", 0)
        print("trace: %.1f M records, %.1f MiB read by workers in %.2f s of fetching (study wall %.1f s)"
              % (records / 1e6, nbytes / 2**20, seconds, wall))
        if seconds > 0:
            print("trace: %.2f M records/s, %.0f MB/s per fetching worker (broker -> worker, decoded and verified)"
                  % (records / seconds / 1e6, nbytes / seconds / 1e6))
    finally:
        c.close()


def timed(args):
    t0 = time.time()
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(args), r.stderr[-2000:]))
    return time.time() - t0


def ratio(kreplay, spec, label):
    base = "/tmp/kreplay-bench-e2e"
    # Fresh folders: the ledger in --out would otherwise reuse recorded runs.
    for d in (base + "-local", base + "-dist"):
        shutil.rmtree(d, ignore_errors=True)
    local = timed([kreplay, "run", spec, "--local", "--threads", "2", "--out", base + "-local", "--quiet"])
    dist = timed([kreplay, "run", spec, "--workers", "2", "--threads", "1", "--out", base + "-dist", "--quiet",
                  "--progress", "none"])
    same = open(base + "-local/results.csv").read() == open(base + "-dist/results.csv").read()
    print("study (%s): in-process %.1f s, distributed (2 workers x 1 thread) %.1f s, ratio %.2fx (target <= 1.3x); "
          "results %s" % (label, local, dist, dist / local, "bit-identical" if same else "DIFFER"))


def trace_variant(seeds):
    """bench/specs/e2e.yaml with its workload published as trace chunks
    (transport: trace) instead of regenerated on the workers."""
    text = open(os.path.join(ROOT, "bench", "specs", "e2e.yaml")).read()
    text = text.replace("seeds: 28", "seeds: %d" % seeds)
    text = text.replace("  - name: busy\n", "  - name: busy\n    transport: trace\n")
    path = "/tmp/kreplay-bench-e2e-trace.yaml"
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kreplay", default=os.path.join(ROOT, "build", "bin", "kreplay"))
    ap.add_argument("--skip-trace", action="store_true")
    ap.add_argument("--skip-ratio", action="store_true")
    ap.add_argument("--trace-ratio", type=int, default=0, metavar="SEEDS",
                    help="also time the study with its workloads sent as trace chunks (SEEDS seeds)")
    a = ap.parse_args()
    os.environ["KREPLAY_BIN"] = a.kreplay
    import harness as h
    h.KREPLAY = a.kreplay
    if not a.skip_trace:
        trace_throughput(h)
    if not a.skip_ratio:
        ratio(a.kreplay, os.path.join(ROOT, "bench", "specs", "e2e.yaml"), "generated workloads, the default")
    if a.trace_ratio:
        ratio(a.kreplay, trace_variant(a.trace_ratio), "transport: trace, %d seeds" % a.trace_ratio)


if __name__ == "__main__":
    main()
