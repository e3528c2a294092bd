"""The CI regression gate end to end, through the real CLI.

- A distributed baseline run (embedded broker, controller, 2 worker processes)
  with --progress=plain: every progress line is one parseable record; with
  --progress=json every line is one JSON object.
- The same study again (in-process) gated against it: identical results, every
  check "no_change" with p = 1, exit 0; junit.xml well-formed (xmllint) with one
  test case per rule.
- A worse HMP tuning: exit 1, the regression in results.json, summary.md and
  junit.xml, and results.json valid against docs/results.schema.json.
- The reverse direction is an improvement: exit 0, reported.
- Bad gates exit 2 before any run: unknown metric, baseline of another model
  version (unless --allow-model-change), a baseline lacking the metric.
- The spec's gate: section works without flags; --no-gate turns it off.
- results.csv and aggregates.csv round-trip against results.json; `results show`
  prints the table the run printed; `results diff --fail-if` gates offline.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "specs", "gate-base.yaml")
CAND = os.path.join(HERE, "specs", "gate-candidate.yaml")
RULES = ["--fail-if", "energy:+3%", "--fail-if", "wakeup_latency_p99_us:+5%"]

PROGRESS = re.compile(r"^progress: (\d+)/(\d+) runs \((\d+) reused, (\d+) failed\), (\d+) workers, ([0-9.]+(?: [kM])?) events/s, "
                      r"re-published (\d+), trace re-sends (\d+), (ETA \S+|done in \S+)$")


def kreplay(*args, expect=None):
    p = subprocess.run([h.KREPLAY] + list(args), capture_output=True, text=True, timeout=300)
    if expect is not None:
        h.check(p.returncode == expect, "kreplay %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), p.returncode, expect, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def load(d, name="results.json"):
    with open(os.path.join(d, name)) as f:
        return json.load(f) if name.endswith(".json") else f.read()


def table_of(stdout):
    """The comparison table a run printed (before the gate section)."""
    return stdout.split("\nregression gate:")[0]


def validate(d):
    import jsonschema
    with open(os.path.join(h.SOURCE_DIR, "docs", "results.schema.json")) as f:
        schema = json.load(f)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(load(d)))
    h.check(not errors, "%s/results.json does not match the schema: %s" % (d, [e.message for e in errors[:5]]))


def junit(d, rules):
    path = os.path.join(d, "junit.xml")
    x = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True)
    h.check(x.returncode == 0, "junit.xml is not well-formed: " + x.stderr)
    suite = ET.parse(path).getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    h.check(sorted(cases) == sorted(rules), "junit test cases %s, expected %s" % (sorted(cases), sorted(rules)))
    h.check(int(suite.get("tests")) == len(rules), "junit tests= attribute")
    failed = sorted(n for n, c in cases.items() if c.find("failure") is not None)
    h.check(int(suite.get("failures")) == len(failed), "junit failures= attribute disagrees with the cases")
    return failed


def check_progress(stderr):
    lines = [l for l in stderr.splitlines() if l.startswith("progress:")]
    h.check(lines, "no progress lines in plain mode:\n" + stderr)
    last = None
    for l in lines:
        m = PROGRESS.match(l)
        h.check(m, "unparseable progress line: %r" % l)
        done, total = int(m.group(1)), int(m.group(2))
        h.check(total == 12 and 0 <= done <= total, "progress counts: %r" % l)
        h.check(last is None or done >= last, "progress went backwards: %r" % l)
        last = done
    h.check(last == 12 and lines[-1].endswith(tuple("0123456789s")) and "done in" in lines[-1],
            "the last progress line is not the final one: %r" % lines[-1])
    h.check("\r" not in stderr and "\033[" not in stderr, "plain progress contains terminal control characters")


def check_csv_round_trip(d):
    res = load(d)
    values = {(r["run_key"], m): s for r in res["runs"] for m, s in r["scalars"].items()}
    with open(os.path.join(d, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    h.check(len(rows) == len(values), "results.csv has %d rows, results.json %d run x metric values" % (len(rows), len(values)))
    for row in rows:
        s = values[(row["run_key"], row["metric"])]
        if s["value"] is None:
            h.check(row["value"] == "", "non-finite value not empty in CSV: %r" % row)
        else:
            h.check(float(row["value"]) == s["value"], "CSV value %s != JSON %r for %s" % (row["value"], s["value"], row))
        h.check(row["unit"] == s["unit"], "unit mismatch %r" % row)
    means = {(a["variant"], a["platform"], a["workload"], m): v for a in res["aggregates"] for m, v in a["metrics"].items()}
    with open(os.path.join(d, "aggregates.csv")) as f:
        agg = list(csv.DictReader(f))
    h.check(len(agg) == len(means), "aggregates.csv rows %d != %d" % (len(agg), len(means)))
    for row in agg:
        v = means[(row["variant"], row["platform"], row["workload"], row["metric"])]
        h.check(float(row["mean"]) == v["mean"] and int(row["n"]) == v["n"], "aggregate mismatch: %r vs %r" % (row, v))


def edited_baseline(src, dst, edit):
    shutil.copytree(src, dst)
    path = os.path.join(dst, "results.json")
    with open(path) as f:
        res = json.load(f)
    edit(res)
    with open(path, "w") as f:
        json.dump(res, f)
    return dst


def test():
    d = h.workdir("gate")
    base = os.path.join(d, "base")

    # 1. The baseline, distributed, with plain progress.
    p = kreplay("run", BASE, "--out", base, "--workers", "2", "--threads", "1", "--progress", "plain", expect=0)
    check_progress(p.stderr)
    base_table = table_of(p.stdout)
    h.check("study gate-it: 12 runs" in base_table, "table missing:\n" + p.stdout)
    validate(base)
    check_csv_round_trip(base)
    r = kreplay("results", "show", base, expect=0)
    h.check(r.stdout == base_table, "results show differs from the run's table:\n%s\n---\n%s" % (r.stdout, base_table))

    # 2. Same inputs, in-process: exactly no change. JSON progress: one object
    # per stderr line, the table alone on stdout.
    same = os.path.join(d, "same")
    p = kreplay("run", BASE, "--local", "--out", same, "--baseline", base, *RULES, "--progress", "json", expect=0)
    events = [json.loads(l) for l in p.stderr.splitlines() if l.startswith("{")]
    h.check(events and events[-1]["state"] == "STUDY_SUCCEEDED" and events[-1]["runs_done"] == 12
            and all(e["runs_total"] == 12 for e in events), "json progress: %r" % events)
    h.check(p.stdout.startswith("study gate-it: 12 runs"), "stdout is not the table:\n" + p.stdout[:300])
    g = load(same)["gate"]
    h.check(g["passed"] and g["regressions"] == 0 and g["mode"] == "baseline", "gate: %r" % g)
    h.check(len(g["checks"]) == 4, "2 rules x 2 groups expected: %r" % g["checks"])
    for c in g["checks"]:
        h.check(c["verdict"] == "no_change" and c["p_value"] == 1 and c["rel_change_pct"] == 0, "not exact: %r" % c)
    h.check(junit(same, ["energy:+3%", "wakeup_latency_p99_us:+5%"]) == [], "junit failures on identical runs")
    h.check("gate PASSED" in p.stdout, p.stdout)

    # 3. A worse tuning fails the gate, and says so everywhere.
    cand = os.path.join(d, "cand")
    p = kreplay("run", CAND, "--local", "--out", cand, "--baseline", base, *RULES, expect=1)
    h.check("gate FAILED" in p.stdout and "REGRESSION" in p.stdout, p.stdout)
    g = load(cand)["gate"]
    bad = [c for c in g["checks"] if c["verdict"] == "regression"]
    h.check(bad and all(c["variant"] == "hmp" for c in bad), "regressions: %r" % g["checks"])
    energy = [c for c in bad if c["metric"] == "energy"]
    h.check(energy and energy[0]["rel_change_pct"] > 3 and energy[0]["p_value"] < 0.05, "energy check: %r" % energy)
    cfs = [c for c in g["checks"] if c["variant"] == "cfs"]
    h.check(all(c["verdict"] == "no_change" for c in cfs), "cfs did not change: %r" % cfs)
    h.check("energy:+3%" in junit(cand, ["energy:+3%", "wakeup_latency_p99_us:+5%"]), "junit lacks the energy failure")
    h.check(load(cand, "summary.md").startswith("## Regression gate: **FAILED**"), "summary.md does not lead with the gate")
    validate(cand)
    check_csv_round_trip(cand)

    # 4. The other way round is an improvement.
    better = os.path.join(d, "better")
    kreplay("run", BASE, "--local", "--out", better, "--baseline", cand, "--fail-if", "energy:+3%", expect=0)
    g = load(better)["gate"]
    h.check(g["passed"] and g["improvements"] >= 1, "improvement not reported: %r" % g)

    # 5. Bad gates: exit 2, before anything runs.
    for args, needle in [
        (["--fail-if", "energyy:+3%"], "'energyy' is not a metric"),
        (["--fail-if", "energy:-3%"], "write energy:+3%"),
        (["--baseline", os.path.join(d, "nope")] + RULES, "no such file"),
        (["--baseline", base], "no gate rules"),
    ]:
        out = os.path.join(d, "bad")
        p = kreplay("run", BASE, "--local", "--out", out, *args, expect=2)
        h.check(needle in p.stderr, "%s: %r not in %s" % (args, needle, p.stderr))
        h.check(not os.path.exists(os.path.join(out, "results.json")), "%s: ran anyway" % args)

    def old_hmp(res):
        for r in res["runs"]:
            if r["variant"] == "hmp":
                r["model_version"] = "0.9.0"
    old = edited_baseline(base, os.path.join(d, "old"), old_hmp)
    p = kreplay("run", BASE, "--local", "--out", os.path.join(d, "o1"), "--baseline", old, *RULES, expect=2)
    h.check("other model versions" in p.stderr and "hmp: baseline sched.hmp 0.9.0" in p.stderr
            and "--allow-model-change" in p.stderr, p.stderr)
    p = kreplay("run", BASE, "--local", "--out", os.path.join(d, "o2"), "--baseline", old, *RULES,
                "--allow-model-change", expect=0)
    h.check(any("model changed (allowed)" in n for n in load(os.path.join(d, "o2"))["gate"]["notes"]), "no note")

    def no_energy(res):
        for r in res["runs"]:
            r["scalars"].pop("energy", None)
    lacking = edited_baseline(base, os.path.join(d, "lacking"), no_energy)
    p = kreplay("run", BASE, "--local", "--out", os.path.join(d, "l1"), "--baseline", lacking, *RULES, expect=2)
    h.check("reports 'energy'" in p.stderr, p.stderr)
    h.check(not os.path.exists(os.path.join(d, "l1", "results.json")), "ran despite a baseline without the metric")
    # Writing the results over the baseline itself is refused.
    p = kreplay("run", BASE, "--local", "--out", base, "--baseline", base, *RULES, expect=2)
    h.check("overwrite the baseline" in p.stderr, p.stderr)
    # A gate in a one-seed spec is caught by spec check, with its line.
    one = os.path.join(d, "one-seed.yaml")
    with open(BASE) as f:
        text = f.read().replace("seeds: 6", "seeds: 1")
    with open(one, "w") as f:
        f.write(text + "gate:\n  fail_if: [\"energy:+3%\"]\n")
    p = kreplay("spec", "check", one, expect=2)
    h.check(re.search(r"one-seed.yaml:\d+: gate: the gate pairs runs by seed and needs at least 2 seeds", p.stderr), p.stderr)

    # 6. The spec's gate: section, and --no-gate.
    spec = os.path.join(d, "gated.yaml")
    with open(CAND) as f:
        text = f.read()
    with open(spec, "w") as f:
        f.write(text + "gate:\n  baseline: base\n  fail_if: [\"energy:+3%\"]\n")
    kreplay("run", spec, "--local", "--out", os.path.join(d, "g1"), expect=1)
    h.check(load(os.path.join(d, "g1"))["gate"]["rules"][0]["text"] == "energy:+3%", "spec rules not used")
    kreplay("run", spec, "--local", "--out", os.path.join(d, "g2"), "--no-gate", expect=0)
    h.check(not os.path.exists(os.path.join(d, "g2", "junit.xml")), "--no-gate still gated")

    # 7. Offline: results diff.
    kreplay("results", "diff", base, cand, "--fail-if", "energy:+3%", expect=1)
    kreplay("results", "diff", base, same, "--fail-if", "energy:+3%", expect=0)
    p = kreplay("results", "diff", base, cand, expect=0)
    h.check("results diff:" in p.stdout and "worse" in p.stdout, p.stdout)
    # 8. The block cache family, same gate: a smaller cache misses more.
    block = """study: gate-block
seeds: 2
workloads:
  - name: hot
    block_synthetic:
      requests: 4000
      arrival: {kind: poisson, rate: 4000}
      components:
        - {kind: zipf, weight: 3, footprint: 24MiB, read_fraction: 0.7, skew: 0.9}
        - {kind: scan, footprint: 16MiB, size: 64KiB}
variants:
  - {name: small, model: block.lru, params: {cache_size: 2MiB}}
  - {name: big, model: block.lru, params: {cache_size: BIG}}
metrics: [miss_ratio]
"""
    for name, size in [("block-base", "16MiB"), ("block-cand", "8MiB")]:
        with open(os.path.join(d, name + ".yaml"), "w") as f:
            f.write(block.replace("BIG", size))
    kreplay("run", os.path.join(d, "block-base.yaml"), "--out", os.path.join(d, "bb"), "--local", expect=0)
    kreplay("run", os.path.join(d, "block-cand.yaml"), "--out", os.path.join(d, "bc"), "--local",
            "--baseline", os.path.join(d, "bb"), "--fail-if", "miss_ratio:1%", expect=1)
    g = load(os.path.join(d, "bc"))["gate"]
    verdicts = {c["variant"]: c["verdict"] for c in g["checks"]}
    h.check(verdicts == {"small": "no_change", "big": "regression"}, "block gate verdicts: %r" % verdicts)
    # 9. The gate on `submit --wait` against a running cluster (controller and
    # workers as their own processes): the candidate fails, the baseline passes.
    c = h.Cluster("gate-cluster", workers=2)
    try:
        r = c.submit(CAND, out=os.path.join(d, "s1"), extra=["--baseline", base, "--fail-if", "energy:+3%"])
        h.check(r.returncode == 1 and "gate FAILED" in r.stdout, "submit --wait gate: exit %d\n%s\n%s\n%s" % (
            r.returncode, r.stdout[-2000:], r.stderr[-2000:], c.logs()))
        h.check(os.path.exists(os.path.join(d, "s1", "junit.xml")), "submit --wait wrote no junit.xml")
        r = c.submit(BASE, out=os.path.join(d, "s2"), extra=["--baseline", base, "--fail-if", "energy:+3%"])
        h.check(r.returncode == 0 and "gate PASSED" in r.stdout, "submit --wait same: exit %d\n%s" % (r.returncode, r.stderr))
        r = c.submit(BASE, wait=False, extra=["--fail-if", "energy:+3%"])
        h.check(r.returncode == 2 and "need --wait" in r.stderr, "submit --fail-if without --wait: %d %s" % (
            r.returncode, r.stderr))
    finally:
        c.close()
    print("gate: ok")


if __name__ == "__main__":
    h.main(test)
