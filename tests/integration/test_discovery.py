"""Discovery and dry runs through the real binary: `kreplay spec check`
reports every error of a spec at once with file:line: and field paths;
`kreplay plan` prints the runs of a spec (counted here from the YAML itself)
and refuses a study above the confirmation threshold without --yes;
`kreplay models describe` and `kreplay platforms` list what specs may name.
Expected values come from the spec files and from the binary's own error
messages, never from copied output."""
import json
import math
import os
import re
import subprocess

import yaml

import harness as h

KREPLAY = h.KREPLAY
HELLO = os.path.join(h.SOURCE_DIR, "examples", "hello.yaml")
CONFIRM_RUNS = 10000  # spec::kPlanConfirmRuns
BATCH_RUNS = 8        # server::ControllerOptions::max_batch_runs


def kreplay(*args, timeout=120):
    return subprocess.run([KREPLAY] + list(args), capture_output=True, text=True, timeout=timeout)


def line_of(text, needle):
    """1-based line of the first line containing `needle`."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise h.Fail("%r not in spec" % needle)


def expected_counts(path):
    """(variants, platforms, workloads, seeds) as spec.h defines them."""
    with open(path) as f:
        s = yaml.safe_load(f)
    grid = 1
    for values in (s.get("grid") or {}).values():
        grid *= len(values)
    seeds = s["seeds"] if isinstance(s["seeds"], int) else len(s["seeds"])
    platforms = len(s.get("platforms") or ["-"])  # a block cache study has one implicit entry
    return len(s["variants"]) * grid, platforms, len(s["workloads"]), seeds


BAD = """study: discovery-bad
seeds: 2
platforms: [juno-r0, no-such-soc]
workloads:
  - name: small
    synthetic:
      duration: 1s
      groups:
        - {kind: batch, work: 100ms, run: 10ms}
variants:
  - name: cfs
    model: sched.cfs
    colour: blue
  - name: hmp
    model: sched.hmp
    params: {hmp_up_threshold: 5000, nope: 1}
metrics: [energy, no_such_metric]
"""


def test_spec_check(d):
    bad = os.path.join(d, "bad.yaml")
    with open(bad, "w") as f:
        f.write(BAD)
    r = kreplay("spec", "check", bad)
    h.check(r.returncode == 2, "spec check of a bad spec: exit %d, want 2\n%s" % (r.returncode, r.stderr))
    lines = r.stderr.splitlines()
    # Independent mistakes, each reported with its own line and field path.
    want = [
        (line_of(BAD, "no-such-soc"), "platforms[1]", "no-such-soc"),
        (line_of(BAD, "colour:"), "variants[0].colour", "unknown field"),
        (line_of(BAD, "hmp_up_threshold"), "variants[1].params.hmp_up_threshold", "5000"),
        (line_of(BAD, "nope"), "variants[1].params.nope", "unknown parameter"),
        (line_of(BAD, "no_such_metric"), "metrics[1]", "no_such_metric"),
    ]
    for line, field, what in want:
        prefix = "%s:%d: %s:" % (bad, line, field)
        h.check(any(l.startswith(prefix) and what in l for l in lines),
                "spec check: no line %r ... %r in:\n%s" % (prefix, what, r.stderr))
    h.check(r.stdout == "", "spec check printed on stdout for a bad spec: %r" % r.stdout)

    # A good spec: exit 0 and its counts, from the YAML.
    r = kreplay("spec", "check", HELLO)
    h.check(r.returncode == 0, "spec check hello: exit %d\n%s" % (r.returncode, r.stderr))
    v, p, w, s = expected_counts(HELLO)
    with open(HELLO) as f:
        name = yaml.safe_load(f)["study"]
    want = "%s: ok: study %s (family sched): %d variants x %d platforms x %d workloads x %d seeds = %d runs" % (
        HELLO, name, v, p, w, s, v * p * w * s)
    h.check(r.stdout.strip() == want, "spec check hello: %r, want %r" % (r.stdout.strip(), want))

    # Several files: every one is checked, exit 2 because one failed.
    r = kreplay("spec", "check", HELLO, bad)
    h.check(r.returncode == 2 and "ok: study" in r.stdout and "no_such_metric" in r.stderr,
            "spec check of a good and a bad spec: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    return r


def test_plan_hello():
    v, p, w, s = expected_counts(HELLO)
    runs = v * p * w * s
    r = kreplay("plan", HELLO)
    h.check(r.returncode == 0, "plan hello: exit %d\n%s" % (r.returncode, r.stderr))
    h.check(re.search(r"^runs=%d\b" % runs, r.stdout, re.M), "plan hello: no runs=%d in\n%s" % (runs, r.stdout))
    h.check("estimate" in r.stdout.lower(), "plan does not say its work figures are estimates:\n" + r.stdout)

    r = kreplay("plan", HELLO, "--json", "--workers", "3", "--threads", "2")
    h.check(r.returncode == 0, "plan --json: exit %d\n%s" % (r.returncode, r.stderr))
    j = json.loads(r.stdout)
    h.check(j["runs"] == runs, "plan --json runs %s, want %d" % (j["runs"], runs))
    h.check(j["counts"] == {"variants": v, "platforms": p, "workloads": w, "seeds": s}, "counts: %s" % j["counts"])
    with open(HELLO) as f:
        spec = yaml.safe_load(f)
    h.check([x["name"] for x in j["variants"]] == [x["name"] for x in spec["variants"]], "variants: %s" % j["variants"])
    wl = j["workloads"][0]
    tasks = sum(g.get("count", 1) for g in spec["workloads"][0]["synthetic"]["groups"])
    h.check(wl["kind"] == "synthetic" and wl["tasks"] == tasks and wl["phases"] > tasks,
            "workload plan: %s (want %d tasks)" % (wl, tasks))
    h.check(wl["instances"] == s and not wl["travels_as_trace"], "workload instances/transport: %s" % wl)
    est = j["estimate"]
    h.check(est["workers"] == 3 and est["threads"] == 2, "estimate cores: %s" % est)
    h.check(est["core_seconds"] > 0 and est["wall_seconds"] > 0, "estimate: %s" % est)
    h.check(est["wall_seconds"] >= est["core_seconds"] / 6 - 1e-12, "wall below core time / cores: %s" % est)
    h.check(j["confirm"]["needed"] is False, "hello needs confirmation? %s" % j["confirm"])


def huge_spec(d):
    """A block.lru grid just above the confirmation threshold."""
    sizes = ["%dMiB" % (i + 1) for i in range(101)]
    seeds = CONFIRM_RUNS // len(sizes) + 1
    spec = {
        "study": "huge-grid",
        "seeds": seeds,
        "workloads": [{"name": "zipf", "block_synthetic": {
            "requests": 1000, "arrival": {"kind": "fixed", "rate": 1000},
            "components": [{"kind": "zipf", "footprint": "64MiB"}]}}],
        "variants": [{"name": "lru", "model": "block.lru"}],
        "grid": {"cache_size": sizes},
    }
    path = os.path.join(d, "huge.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(spec, f)
    return path, len(sizes), seeds


def test_plan_threshold(d):
    path, grid, seeds = huge_spec(d)
    runs = grid * seeds
    h.check(runs > CONFIRM_RUNS, "test spec too small")
    r = kreplay("plan", path)
    h.check(r.returncode == 2, "plan of %d runs without --yes: exit %d, want 2\n%s%s" % (runs, r.returncode, r.stdout, r.stderr))
    h.check("--yes" in r.stderr and str(runs) in r.stderr, "refusal does not name the runs and --yes: %r" % r.stderr)
    r = kreplay("plan", path, "--yes", "--json")
    h.check(r.returncode == 0, "plan --yes: exit %d\n%s" % (r.returncode, r.stderr))
    j = json.loads(r.stdout)
    h.check(j["runs"] == runs and j["confirm"]["needed"] is True, "plan --yes: runs %s confirm %s" % (j["runs"], j["confirm"]))
    # block.lru batches: the grid points of one seed share ceil(grid / 8) work items.
    want_items = seeds * math.ceil(grid / BATCH_RUNS)
    h.check(j["work_items"] == want_items, "work items %s, want %d" % (j["work_items"], want_items))
    r = kreplay("plan", path, "--yes")
    h.check(r.returncode == 0 and re.search(r"^runs=%d\b" % runs, r.stdout, re.M) and "more)" in r.stdout,
            "plan --yes text: exit %d\n%s" % (r.returncode, r.stdout[:2000]))
    # `run` refuses the same study the same way, before starting anything.
    out = os.path.join(d, "huge-out")
    r = kreplay("run", path, "--local", "--out", out)
    h.check(r.returncode == 2 and "--yes" in r.stderr, "run of %d runs without --yes: exit %d\n%s" % (runs, r.returncode, r.stderr))
    h.check(not os.path.exists(os.path.join(out, "results.json")), "run without --yes ran anyway")


def test_models_and_platforms(d):
    r = kreplay("models", "describe", "sched.hmp")
    h.check(r.returncode == 0, "models describe: exit %d\n%s" % (r.returncode, r.stderr))
    text = r.stdout
    h.check(re.search(r"^\s*mirrors: .*kernel/sched/", text, re.M), "no mirrors kernel source line:\n" + text)
    # The parameter names the spec loader knows (from its own error message)
    # are exactly those described, each with a default; numeric ones with
    # bounds, and the bounds the loader enforces.
    probe = os.path.join(d, "probe.yaml")
    with open(probe, "w") as f:
        f.write(BAD)
    err = kreplay("spec", "check", probe).stderr
    m = re.search(r"unknown parameter \(known: ([^)]*)\)", err)
    h.check(m, "no list of known parameters in:\n" + err)
    known = [x.strip() for x in m.group(1).split(",")]
    described = re.findall(r"^  (\S+)\s+(int|double|bool|enum|string)\s+default (.*)$", text, re.M)
    h.check([x[0] for x in described] == known, "described %s, loader knows %s" % ([x[0] for x in described], known))
    for name, typ, rest in described:
        if typ in ("int", "double"):
            h.check(re.search(r"\[[^,\]]+, [^\]]+\]", rest), "%s: no bounds in %r" % (name, rest))
        if typ == "enum":
            h.check("{" in rest, "%s: no choices in %r" % (name, rest))
    b = re.search(r"hmp_up_threshold: 5000 is out of bounds (\[[^\]]*\])", err)
    h.check(b, "no bounds in the out-of-bounds error:\n" + err)
    line = [x for x in described if x[0] == "hmp_up_threshold"][0][2]
    h.check(b.group(1) in line, "describe shows %r, the loader enforces %s" % (line, b.group(1)))
    h.check(re.search(r"^  hz\s+int\s+default \d+ Hz ", text, re.M), "hz shows no unit:\n" + text)

    r = kreplay("platforms")
    h.check(r.returncode == 0, "platforms: exit %d" % r.returncode)
    names = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    h.check("juno-r0" in names, "platforms does not list juno-r0:\n" + r.stdout)
    m = re.search(r"shipped: ([^;]*);", err)
    h.check(m, "no shipped platform list in:\n" + err)
    shipped = [x.strip() for x in m.group(1).split(",")]
    h.check(sorted(names) == sorted(shipped), "platforms lists %s, the loader ships %s" % (names, shipped))


def main():
    d = h.workdir("discovery")
    test_spec_check(d)
    test_plan_hello()
    test_plan_threshold(d)
    test_models_and_platforms(d)
    print("discovery: ok")


if __name__ == "__main__":
    main()
