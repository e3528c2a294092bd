"""The test-only toy family (tests/toy) through the real binary: a family
added as one folder works with every command that loops over the family
table. `kreplay run` distributed (embedded broker, controller, 2 workers)
equals `--local` bit for bit, a generated workload travels as its spec and
one as trace chunks, and spec check, plan, rerun, models describe and
`trace inspect` (dispatch by file, --family, a family's flag) work."""
import gzip
import json
import os
import subprocess

import harness as h

STUDY = os.path.join(h.SOURCE_DIR, "tests", "toy", "study.yaml")


def kreplay(*args, timeout=300):
    return subprocess.run([h.KREPLAY] + list(args), capture_output=True, text=True, timeout=timeout)


def runs_of(out):
    with open(os.path.join(out, "results.json")) as f:
        return json.load(f)["runs"]


def test():
    d = h.workdir("toy")
    r = kreplay("models", "describe", "toy.sum")
    h.check(r.returncode == 0 and "scale" in r.stdout and "total" in r.stdout, "models describe: " + r.stdout + r.stderr)
    r = kreplay("models")
    h.check("toy.sum" in r.stdout and "sched.cfs" in r.stdout, "models lists the toy and the shipped ones: " + r.stdout)

    r = kreplay("spec", "check", STUDY)
    h.check(r.returncode == 0, "spec check: " + r.stdout + r.stderr)
    bad = os.path.join(d, "bad.yaml")
    with open(STUDY) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace("{items: 5000, max: 100}", "{items: 0, max: 100, colour: red}"))
    r = kreplay("spec", "check", bad)
    h.check(r.returncode == 2, "bad toy spec exits 2, got %d" % r.returncode)
    h.check("bad.yaml:6: workloads[0].toy_synthetic.items: must be in [1, 10000000]" in r.stderr + r.stdout,
            "the toy kind's error names file, line and field: " + r.stderr + r.stdout)
    h.check("workloads[0].toy_synthetic.colour: unknown field" in r.stderr + r.stdout, "unknown toy field: " + r.stderr)

    r = kreplay("plan", STUDY, "--json")
    h.check(r.returncode == 0, "plan: " + r.stderr)
    plan = json.loads(r.stdout)
    h.check(plan["runs"] == 12, "plan runs: %s" % plan["runs"])
    h.check(plan["family"] == "toy", "plan family: %s" % plan["family"])

    local = os.path.join(d, "local")
    r = kreplay("run", STUDY, "--local", "--out", local, "--quiet")
    h.check(r.returncode == 0, "local run: " + r.stderr[-2000:])
    dist = os.path.join(d, "dist")
    r = kreplay("run", STUDY, "--out", dist, "--workers", "2", "--quiet", "--progress", "none")
    h.check(r.returncode == 0, "distributed run: " + r.stderr[-3000:])
    lr, dr = runs_of(local), runs_of(dist)
    h.check(len(lr) == 12 and len(dr) == 12, "12 runs each: %d %d" % (len(lr), len(dr)))
    key = lambda run: run["run_key"]
    for a, b in zip(sorted(lr, key=key), sorted(dr, key=key)):
        h.check(a["run_key"] == b["run_key"] and a["scalars"] == b["scalars"] and a["sim_events"] == b["sim_events"],
                "distributed differs from local for %s" % a["run_key"])
    # What the family promises, checked without its code: `items` numbers per
    # workload, each in [1, max], so a total between items and items * max;
    # scale 3 triples the sum of the same seed's workload; seeds differ.
    by = {(r["variant"], r["workload"], r["seed"]): r["scalars"] for r in dr}
    for (variant, workload, seed), s in by.items():
        n, top = (5000, 100) if workload == "small" else (20000, 7)
        h.check(s["items"]["value"] == n, "items of %s: %s" % (workload, s["items"]["value"]))
        if variant == "one":
            h.check(n <= s["total"]["value"] <= n * top, "total out of range: %s" % s["total"]["value"])
            h.check(by[("three", workload, seed)]["total"]["value"] == 3 * s["total"]["value"], "scale 3")
    h.check(by[("one", "small", 1)]["total"]["value"] != by[("one", "small", 2)]["total"]["value"],
            "seeds draw different workloads")
    # The trace-transport workload went through the trace store (3 seeds).
    traces = [f for f in os.listdir(os.path.join(dist, "traces")) if f.endswith(".chunks")]
    h.check(len(traces) == 3, "one stored trace per seed of 'shipped': %s" % traces)

    r = kreplay("rerun", dr[0]["run_key"], "--results", dist)
    h.check(r.returncode == 0 and "bit-identical" in r.stdout, "rerun: " + r.stdout + r.stderr)
    test_trace_inspect(d)


def test_trace_inspect(d):
    """`trace inspect` picks the family whose inspector recognises the file
    (block traces still go to the block family), --family forces one, a
    family's flag picks it, and a file no family reads exits 2 naming both."""
    toy = os.path.join(d, "toy.txt")
    with open(toy, "w") as f:
        f.write("toy trace\n3\n4\n5\n")
    block = os.path.join(h.SOURCE_DIR, "tests", "integration", "traces", "msr.csv")
    r = kreplay("trace", "inspect", toy)
    h.check(r.returncode == 0 and r.stdout == "toy trace %s: 3 items, total 12\n" % toy, "toy inspect: %r %r" %
            (r.stdout, r.stderr))
    r = kreplay("trace", "inspect", "--json", block)
    h.check(r.returncode == 0 and json.loads(r.stdout)["format"] == "msr", "block inspect: " + r.stdout + r.stderr)
    r = subprocess.run([h.KREPLAY, "trace", "inspect", "-"], input=gzip.compress(b"toy trace\n7\n"),
                       capture_output=True, timeout=60)
    h.check(r.returncode == 0 and r.stdout == b"toy trace <stdin>: 1 items, total 7\n",
            "toy trace gzipped on stdin: %r %r" % (r.stdout, r.stderr))
    r = kreplay("trace", "inspect", "--toy-scale", "10", "--json", toy)
    h.check(r.returncode == 0 and json.loads(r.stdout) == {"family": "toy", "items": 3, "total": 120},
            "--toy-scale: " + r.stdout + r.stderr)
    r = kreplay("trace", "inspect", "--family", "toy", block)
    h.check(r.returncode == 2 and "msr.csv:1: not a toy trace" in r.stderr, "--family toy on msr: " + r.stderr)
    r = kreplay("trace", "inspect", "--toy-scale", "2", block)
    h.check(r.returncode == 2 and "not a toy trace" in r.stderr, "--toy-scale picks toy: " + r.stderr)
    r = kreplay("trace", "inspect", "--family", "blockcache", "--toy-scale", "2", toy)
    h.check(r.returncode == 2 and "--toy-scale is for toy traces, which --family blockcache is not" in r.stderr,
            "flags of two families: " + r.stderr)
    other = os.path.join(d, "other.txt")
    with open(other, "w") as f:
        f.write("neither\n")
    r = kreplay("trace", "inspect", other)
    h.check(r.returncode == 2 and "not a trace any family reads" in r.stderr and "\n  blockcache: block traces" in
            r.stderr and "\n  toy: toy traces" in r.stderr, "unknown trace: " + r.stderr)


if __name__ == "__main__":
    h.main(test)
