"""The documentation against the binary it documents.

- docs/metrics.md lists every metric that `kreplay models describe` prints for
  every model, under that model, with the same unit and better-direction;
- the README commands table names every command and sub-command of
  `kreplay --help` (and the gate flags of `kreplay run`, once they exist);
- every example study spec loads (`kreplay spec check`, else `kreplay plan`);
- a real results.json (examples/hello.yaml, in-process) matches
  docs/results.schema.json, and every key it holds is named in
  docs/outputs.md, as are the exact CSV header lines;
- examples/ci: the committed baseline matches the schema and the current model
  versions, the CI study gated against it passes with every check
  `no_change` (identical models give identical results), and a baseline
  whose energy is 10 % lower makes `results diff` fail with exit 1 and a
  JUnit failure, as docs/outputs.md and examples/ci/README.md say.
"""
import copy
import glob
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import harness as h

SRC = h.SOURCE_DIR
BETTER = ("lower", "higher", "none")


def kr(args, timeout=300):
    return subprocess.run([h.KREPLAY] + args, capture_output=True, text=True, timeout=timeout)


def read(rel):
    with open(os.path.join(SRC, rel)) as f:
        return f.read()


def subcommands(help_text):
    """Names listed in a CLI11 help text's SUBCOMMANDS section."""
    names, inside = [], False
    for line in help_text.splitlines():
        if re.match(r"^\s*subcommands:\s*$", line, re.I):
            inside = True
            continue
        if inside:
            m = re.match(r"^  (\S+)(\s|$)", line)
            if m:
                names.append(m.group(1))
            elif line.strip() and not line.startswith("   "):
                inside = False
    return names


# ------------------------------------------------------------------ metrics.md

def model_names():
    r = kr(["models"])
    h.check(r.returncode == 0, "kreplay models: exit %d: %s" % (r.returncode, r.stderr))
    names = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    h.check(len(names) >= 2, "kreplay models listed %r" % names)
    return names


def described_metrics(model):
    """(name, unit, better) of every metric `kreplay models describe` prints."""
    r = kr(["models", "describe", model])
    h.check(r.returncode == 0, "models describe %s: exit %d: %s" % (model, r.returncode, r.stderr))
    out, inside = [], False
    for line in r.stdout.splitlines():
        if line.strip() == "Metrics:":
            inside = True
            continue
        if not inside:
            continue
        if not line.strip():
            if out:
                break  # the section ends at the first blank line; a note follows
            continue
        t = line.split()
        # "  name unit better help": the unit column is blank for unitless metrics.
        if t[1] in BETTER and (len(t) < 3 or t[2] not in BETTER):
            name, unit, better, fields = t[0], "", t[1], 2
        else:
            name, unit, better, fields = t[0], t[1], t[2], 3
        h.check(better in BETTER, "models describe %s: cannot read the metric line %r" % (model, line))
        rest = line.strip().split(None, fields)
        out.append((name, unit, better, rest[fields] if len(rest) > fields else ""))
    h.check(out, "models describe %s printed no metrics" % model)
    return out


def test_metrics_doc():
    doc = read("docs/metrics.md")
    # One section per model: "### `model`" up to the next heading of level <= 3.
    sections = {}
    for m in re.finditer(r"^### `([^`]+)`.*?$(.*?)(?=^#{1,3} |\Z)", doc, re.M | re.S):
        sections[m.group(1)] = m.group(2)
    n = 0
    for model in model_names():
        h.check(model in sections, "docs/metrics.md has no '### `%s`' section" % model)
        rows = {}
        for line in sections[model].splitlines():
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if len(cells) >= 3 and cells[0].startswith("`"):
                rows[cells[0].strip("`")] = (cells[1].strip("`").replace("\\|", "|"), cells[2])
        for name, unit, better, _ in described_metrics(model):
            h.check(name in rows, "docs/metrics.md, section %s: metric `%s` missing" % (model, name))
            want_unit = unit if unit else "-"
            h.check(rows[name] == (want_unit, better),
                    "docs/metrics.md, %s `%s`: documented as %r, kreplay says unit %r, better %r" %
                    (model, name, rows[name], want_unit, better))
            n += 1
    return n


# ------------------------------------------------------------------ README

def readme_command_cells():
    text = read("README.md")
    m = re.search(r"^## Commands\s*$(.*?)(?=^## )", text, re.M | re.S)
    h.check(m, "README.md has no '## Commands' section")
    cells = []
    for line in m.group(1).splitlines():
        if line.startswith("| `kreplay"):
            cells.append(line.split(" | ")[0])
    h.check(cells, "README.md: the commands table is empty")
    return "\n".join(cells)


def test_readme_commands():
    cells = readme_command_cells()
    r = kr(["--help"])
    h.check(r.returncode == 0, "kreplay --help: exit %d" % r.returncode)
    top = subcommands(r.stdout)
    h.check(len(top) >= 8 and "run" in top, "could not read the subcommands of kreplay --help: %r" % top)
    n = 0
    for cmd in top:
        h.check(re.search(r"`kreplay %s\b" % re.escape(cmd), cells),
                "README commands table has no row for `kreplay %s`" % cmd)
        n += 1
        sub = kr([cmd, "--help"])
        for s in subcommands(sub.stdout):
            h.check(re.search(r"`kreplay %s %s\b" % (re.escape(cmd), re.escape(s)), cells) or
                    re.search(r"`kreplay %s [^`]*\b%s\b" % (re.escape(cmd), re.escape(s)), cells),
                    "README commands table has no row for `kreplay %s %s`" % (cmd, s))
            n += 1
    run_help = kr(["run", "--help"]).stdout
    for flag in ("--baseline", "--fail-if", "--alpha", "--allow-model-change"):
        if flag in run_help:
            h.check(flag in cells, "README commands table does not mention `kreplay run %s`" % flag)
            n += 1
    return n, top


# ------------------------------------------------------------------ examples

def example_specs():
    out = []
    for p in sorted(glob.glob(os.path.join(SRC, "examples", "**", "*.yaml"), recursive=True)):
        with open(p) as f:
            if re.search(r"^study:", f.read(), re.M):
                out.append(p)
    h.check(len(out) >= 5, "found only %d example specs: %r" % (len(out), out))
    return out


def test_examples_load(top):
    if "spec" in top:
        how = ["spec", "check"]
    elif "plan" in top:
        how = ["plan", "--yes"]
    else:
        # TODO(lead): `kreplay spec check` / `kreplay plan` are being added; once
        # either exists this check runs on its own. Until then nothing is checked.
        print("SKIPPED: example specs not checked: this kreplay has neither `spec check` nor `plan`")
        return 0
    for p in example_specs():
        args = how + [p] if how[0] == "spec" else [how[0], p] + how[1:]
        r = kr(args)
        h.check(r.returncode == 0, "kreplay %s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return len(example_specs())


# ------------------------------------------------------------------ results.json

def schema_validator():
    import jsonschema  # python3-jsonschema (scripts/setup.sh)
    schema = json.loads(read("docs/results.schema.json"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validate(validator, doc, label):
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    h.check(not errors, "%s does not match docs/results.schema.json:\n%s" % (
        label, "\n".join("  %s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in errors[:10])))


def keys_named_in_outputs_doc(doc, label):
    """Every fixed key of results.json (not map keys such as metric names) is
    named, in backquotes, in docs/outputs.md."""
    # Words inside code spans: `key`, `{seed, digest}`, `ci_low`/`ci_high`.
    words = set()
    for span in re.findall(r"`([^`\n]+)`", read("docs/outputs.md")):
        words.update(re.findall(r"[A-Za-z0-9_]+", span))
    missing = set()

    def need(obj):
        missing.update(k for k in obj if k not in words)

    need(doc)
    need(doc["study"])
    need(doc["provenance"])
    for key in ("models", "platforms", "workloads"):
        for x in doc["provenance"][key][:1]:
            need(x)
    for run in doc["runs"][:1]:
        need(run)
        for s in list(run["scalars"].values())[:1]:
            need(s)
    for a in doc["aggregates"][:1]:
        need(a)
        for s in list(a["metrics"].values())[:1]:
            need(s)
        for p in list(a["pooled_histograms"].values())[:1]:
            need(p)
    for c in doc["comparisons"][:1]:
        need(c)
    if doc.get("gate"):
        need(doc["gate"])
        for x in doc["gate"]["rules"][:1] + doc["gate"]["checks"][:1]:
            need(x)
    h.check(not missing, "%s: keys not described in docs/outputs.md: %s" % (label, sorted(missing)))


def test_results_contract(d, validator):
    out = os.path.join(d, "hello")
    r = kr(["run", os.path.join(SRC, "examples", "hello.yaml"), "--local", "--quiet", "--out", out])
    h.check(r.returncode == 0, "run hello --local: exit %d: %s" % (r.returncode, r.stderr))
    doc = json.load(open(os.path.join(out, "results.json")))
    validate(validator, doc, "hello/results.json")
    h.check(doc["runs"] and doc["aggregates"] and doc["comparisons"], "hello/results.json has empty sections")
    keys_named_in_outputs_doc(doc, "hello/results.json")
    outputs = read("docs/outputs.md")
    for f in ("results.csv", "aggregates.csv"):
        header = open(os.path.join(out, f)).readline().strip()
        h.check(header in outputs, "docs/outputs.md does not show the %s header line %r" % (f, header))
    # The schema is strict where it matters: a run without its seed fails.
    broken = copy.deepcopy(doc)
    del broken["runs"][0]["seed"]
    h.check(any(True for _ in validator.iter_errors(broken)), "the schema accepts a run without a seed")


# ------------------------------------------------------------------ examples/ci

def test_ci_example(d, validator):
    ci = os.path.join(SRC, "examples", "ci")
    base_file = os.path.join(ci, "baseline", "results.json")
    base = json.load(open(base_file))
    validate(validator, base, "examples/ci/baseline/results.json")
    versions = {}
    for line in kr(["models"]).stdout.splitlines():
        t = line.split()
        if len(t) >= 2:
            versions[t[0]] = t[1]
    for m in base["provenance"]["models"]:
        h.check(versions.get(m["name"]) == m["version"],
                "examples/ci/baseline was made with %s %s, this kreplay has %s: regenerate it (examples/ci/README.md)"
                % (m["name"], m["version"], versions.get(m["name"])))
    if "--baseline" not in kr(["run", "--help"]).stdout:
        # TODO(lead): drop once the gate flags are in; until then only the baseline file is checked.
        print("SKIPPED: gate not checked: this kreplay's `run` has no --baseline")
        return 0
    out = os.path.join(d, "ci")
    r = kr(["run", os.path.join(ci, "study.yaml"), "--local", "--quiet", "--baseline", os.path.join(ci, "baseline"),
            "--out", out])
    h.check(r.returncode == 0, "CI study against its baseline: exit %d (want 0)\n%s" % (r.returncode, r.stderr))
    doc = json.load(open(os.path.join(out, "results.json")))
    validate(validator, doc, "ci/results.json")
    keys_named_in_outputs_doc(doc, "ci/results.json")
    gate = doc.get("gate")
    h.check(gate and gate["mode"] == "baseline" and gate["passed"], "ci: gate missing or not passed: %r" % gate)
    h.check(gate["checks"] and all(c["verdict"] == "no_change" and c["p_value"] == 1 for c in gate["checks"]),
            "ci: identical models must give no_change with p = 1 everywhere: %r" %
            [(c["rule"], c["variant"], c["verdict"], c["p_value"]) for c in gate["checks"]])
    h.check(open(os.path.join(out, "summary.md")).read().startswith("## Regression gate"),
            "ci: summary.md does not start with the gate section")
    suite = ET.parse(os.path.join(out, "junit.xml")).getroot()
    cases = suite.findall(".//testcase")
    h.check(len(cases) == len(gate["rules"]) and not suite.findall(".//failure"),
            "ci: junit.xml has %d test cases (want %d, one per rule) or failures" % (len(cases), len(gate["rules"])))

    # A baseline whose energy was 10 % lower: now energy has risen 11.1 % on
    # every seed, beyond the 3 % rule and far beyond chance: a regression, exit 1.
    lower = copy.deepcopy(base)
    for run in lower["runs"]:
        run["scalars"]["energy"]["value"] *= 0.9
    lb = os.path.join(d, "lower-baseline")
    os.makedirs(lb)
    with open(os.path.join(lb, "results.json"), "w") as f:
        json.dump(lower, f)
    junit = os.path.join(d, "diff-junit.xml")
    r = kr(["results", "diff", lb, out, "--fail-if", "energy:+3%", "--junit", junit])
    h.check(r.returncode == 1, "results diff against a 10%%-lower-energy baseline: exit %d (want 1)\n%s%s" %
            (r.returncode, r.stdout, r.stderr))
    h.check("regression" in r.stdout + r.stderr, "results diff printed no regression:\n" + r.stdout)
    failures = ET.parse(junit).getroot().findall(".//testcase/failure")
    h.check(len(failures) == 1 and failures[0].get("type") == "regression",
            "results diff --junit: want one <failure type=regression> (rule energy:+3%%), got %d" % len(failures))
    return len(gate["checks"])


def test():
    d = h.workdir("docs")
    validator = schema_validator()
    n_metrics = test_metrics_doc()
    n_cmds, top = test_readme_commands()
    n_specs = test_examples_load(top)
    test_results_contract(d, validator)
    n_checks = test_ci_example(d, validator)
    print("metrics documented %d, commands in README %d, example specs loaded %d, ci gate checks %d" %
          (n_metrics, n_cmds, n_specs, n_checks))


# ------------------------------------------------------------------ generator

METRICS_INTRO = """# Metrics of every model

Every metric each model reports, with its unit, which direction is better
and its definition. The tables are generated from `kreplay models describe`
(run `KREPLAY_BIN=build/bin/kreplay python3 tests/integration/test_docs.py
--write-metrics-doc` after changing a model; `it_docs` fails while this page
and the binary disagree). The models' pages in [models/](models/) explain
what the numbers mean in kernel terms.

- **better**: `lower` or `higher` is better; `none` means the metric
  describes the run rather than grades it. The regression gate uses it for a
  rule without a sign (`energy:3%` is `energy:+3%`), and refuses a sign
  against it ([outputs.md](outputs.md#the-regression-gate)).
- **Names with `<...>`** are patterns: one metric per cluster, task, OPP,
  idle state, cache size or percentage, e.g. `cluster.a53.utilization`,
  `task.interactive-0.wakeup_latency_p99_us`, `fixed_lru_miss_ratio.1073741824`.
  A study's `metrics:` may name them in full.
- **Histograms and series.** Entries defined as "Histogram of ..." are
  histograms (ns unless stated): they are not in a run's `scalars`; reports
  merge them over seeds into the pooled p50/p99 of `pooled_histograms`.
  `fixed_lru_mrc` is a series (becomes `curves.csv`). Everything else is a
  scalar, one value per run.
- **Aggregation.** Every scalar is aggregated the same way: the table and
  `aggregates` show its mean over seeds with a 95 % Student-t interval, and
  comparisons pair it seed by seed with the reference (or the baseline). A
  percentile metric such as `wakeup_latency_p99_us` is therefore the *mean
  of the per-run p99s*; the pooled p99 (all seeds' samples together) is a
  different number. [outputs.md](outputs.md#how-the-numbers-are-computed)
  explains both.
"""

FAMILY_TITLES = {"sched": "Scheduler family (`sched`): [models/sched.md](models/sched.md)",
                 "blockcache": "Block cache family (`blockcache`): [models/blockcache.md](models/blockcache.md)"}


def write_metrics_doc():
    """Regenerates docs/metrics.md from `kreplay models` / `models describe`."""
    families = {}
    for model in model_names():
        head = kr(["models", "describe", model]).stdout.splitlines()[0]
        m = re.match(r"^(\S+) (\S+) \((\S+) family\)", head)
        h.check(m, "models describe %s: unexpected first line %r" % (model, head))
        families.setdefault(m.group(3), []).append((model, m.group(2)))
    esc = lambda x: x.replace("|", "\\|")
    out = [METRICS_INTRO]
    for fam in sorted(families, key=lambda f: (f != "sched", f)):
        out.append("## %s\n" % FAMILY_TITLES.get(fam, "Family `%s`" % fam))
        for model, version in families[fam]:
            out.append("### `%s` (version %s)\n" % (model, version))
            out.append("| metric | unit | better | definition |")
            out.append("|---|---|---|---|")
            for name, unit, better, text in described_metrics(model):
                out.append("| `%s` | %s | %s | %s |" % (name, "`%s`" % esc(unit) if unit else "-", better, esc(text)))
            out.append("")
    with open(os.path.join(SRC, "docs", "metrics.md"), "w") as f:
        f.write("\n".join(out))
    print("wrote docs/metrics.md")


if __name__ == "__main__":
    import sys
    if "--write-metrics-doc" in sys.argv:
        write_metrics_doc()
    else:
        h.main(test)
