"""`kreplay rerun RUN_KEY` reproduces a recorded run bit for bit, says which
field differs when the record was altered, refuses unknown keys and specs
that no longer produce the run, and writes the run's schedule as ftrace text
consistent with the run's own metrics."""
import json
import os
import re
import shutil
import sqlite3
import subprocess

import harness as h

HELLO = os.path.join(h.SOURCE_DIR, "examples", "hello.yaml")


def rerun(*args):
    return subprocess.run([h.KREPLAY, "rerun"] + list(args), capture_output=True, text=True, timeout=120)


def runs_of(out):
    with open(os.path.join(out, "results.json")) as f:
        return json.load(f)["runs"]


CONTEXT = re.compile(r"^\s*(.+)-(\d+)\s+\[(\d{3})\]\s+(\d+)\.(\d{6}): (\w+): (.*)$")
SWITCH = re.compile(r"^prev_comm=(.+) prev_pid=(\d+) prev_prio=(-?\d+) prev_state=(\S+) ==> "
                    r"next_comm=(.+) next_pid=(\d+) next_prio=(-?\d+)$")


def check_ftrace(path, run):
    """Per-CPU switch chains, no task on two CPUs, one sched_migrate_task per
    counted migration, one leaving switch per counted context switch."""
    with open(path) as f:
        lines = f.read().splitlines()
    h.check(lines and lines[0] == "# tracer: nop", "ftrace file lacks its header")
    running = {}  # cpu -> pid
    where = {}    # pid -> cpu
    switches = migrations = leaving = 0
    last = -1
    for line in lines:
        if line.startswith("#"):
            continue
        m = CONTEXT.match(line)
        h.check(m, "unparsable ftrace line: " + line)
        t = int(m.group(4)) * 1000000 + int(m.group(5))
        h.check(t >= last, "time goes back: " + line)
        last = t
        cpu, event, body = int(m.group(3)), m.group(6), m.group(7)
        if event == "sched_migrate_task":
            migrations += 1
        if event != "sched_switch":
            continue
        s = SWITCH.match(body)
        h.check(s, "unparsable sched_switch: " + body)
        prev, nxt = int(s.group(2)), int(s.group(6))
        h.check(running.get(cpu, 0) == prev, "CPU %d: prev_pid %d but %d was running: %s" % (cpu, prev, running.get(cpu, 0), line))
        h.check(int(m.group(2)) == prev, "sched_switch not logged by prev: " + line)
        if prev:
            leaving += 1
            del where[prev]
        if nxt:
            h.check(nxt not in where, "pid %d on CPUs %d and %d at once: %s" % (nxt, where.get(nxt, -1), cpu, line))
            where[nxt] = cpu
        running[cpu] = nxt
        switches += 1
    h.check(switches > 0, "no sched_switch lines")
    h.check(migrations == int(run["scalars"]["migrations"]["value"]),
            "%d sched_migrate_task lines, %s migrations counted" % (migrations, run["scalars"]["migrations"]["value"]))
    h.check(leaving == int(run["scalars"]["context_switches"]["value"]),
            "%d switches away from a task, %s context switches counted" % (leaving, run["scalars"]["context_switches"]["value"]))


def test():
    d = h.workdir("rerun")
    out = os.path.join(d, "local")
    h.run_local(HELLO, out)
    runs = runs_of(out)
    h.check(len(runs) == 4, "hello.yaml should give 4 runs")

    # Two recorded runs (full key, and an 8-digit prefix) rerun bit-identical.
    for key in (runs[0]["run_key"], runs[3]["run_key"][:8]):
        r = rerun(key, "--results", out)
        h.check(r.returncode == 0 and "bit-identical" in r.stdout, "rerun %s: %d %s %s" % (key, r.returncode, r.stdout, r.stderr))
    h.check(runs[3]["run_key"] in rerun(runs[3]["run_key"][:8], "--results", out).stdout, "the verdict names the full key")

    # Found without --results under ./kreplay-out/*/.
    cwd = os.path.join(d, "cwd")
    os.makedirs(os.path.join(cwd, "kreplay-out"))
    shutil.copytree(out, os.path.join(cwd, "kreplay-out", "hello"))
    r = subprocess.run([h.KREPLAY, "rerun", runs[1]["run_key"][:12]], cwd=cwd, capture_output=True, text=True, timeout=120)
    h.check(r.returncode == 0 and "bit-identical" in r.stdout, "rerun from ./kreplay-out: " + r.stdout + r.stderr)

    # A tampered scalar (no ledger in a --local folder): exit 1 naming it.
    bad = os.path.join(d, "tampered")
    shutil.copytree(out, bad)
    with open(os.path.join(bad, "results.json")) as f:
        j = json.load(f)
    j["runs"][2]["scalars"]["energy"]["value"] *= 1 + 1e-12
    with open(os.path.join(bad, "results.json"), "w") as f:
        json.dump(j, f)
    r = rerun(runs[2]["run_key"], "--results", bad)
    h.check(r.returncode == 1, "tampered run: exit %d, want 1: %s %s" % (r.returncode, r.stdout, r.stderr))
    h.check("scalars.energy" in r.stdout and "wakeup_latency" not in r.stdout, "tampered run: " + r.stdout)
    # The untouched runs of that folder still match.
    h.check(rerun(runs[1]["run_key"], "--results", bad).returncode == 0, "an untouched run no longer matches")

    # Unknown, malformed and ambiguous keys: exit 2.
    r = rerun("0123456789abcdef", "--results", out)
    h.check(r.returncode == 2 and "no run" in r.stderr, "unknown key: %d %s" % (r.returncode, r.stderr))
    h.check(rerun("abc", "--results", out).returncode == 2, "a 3-digit prefix was accepted")
    amb = os.path.join(d, "ambiguous")
    shutil.copytree(out, amb)
    twin = dict(j["runs"][0])
    twin["run_key"] = runs[0]["run_key"][:8] + "0" * 56
    j = json.load(open(os.path.join(out, "results.json")))
    j["runs"].append(twin)
    json.dump(j, open(os.path.join(amb, "results.json"), "w"))
    r = rerun(runs[0]["run_key"][:8], "--results", amb)
    h.check(r.returncode == 2 and "ambiguous" in r.stderr, "ambiguous prefix: %d %s" % (r.returncode, r.stderr))

    # The spec moved: the folder's resolved-spec.yaml copy is used.
    moved = os.path.join(d, "moved")
    shutil.copytree(out, moved)
    j = json.load(open(os.path.join(moved, "results.json")))
    j["provenance"]["spec_path"] = os.path.join(d, "no-such-spec.yaml")
    json.dump(j, open(os.path.join(moved, "results.json"), "w"))
    r = rerun(runs[0]["run_key"], "--results", moved)
    h.check(r.returncode == 0 and "bit-identical" in r.stdout, "resolved-spec.yaml fallback: " + r.stdout + r.stderr)

    # The spec changed since: its runs have other keys.
    changed = os.path.join(d, "changed.yaml")
    with open(HELLO) as f:
        text = f.read()
    with open(changed, "w") as f:
        f.write(text.replace("mean: 10ms", "mean: 11ms"))
    r = rerun(runs[0]["run_key"], "--results", out, "--spec", changed)
    h.check(r.returncode == 2 and "no longer produces" in r.stderr, "changed spec: %d %s" % (r.returncode, r.stderr))

    # --ftrace: the schedule as ftrace text, consistent with the run's metrics.
    for run in (runs[0], runs[3]):  # sched.cfs and sched.hmp
        trace = os.path.join(d, "run-%s.txt" % run["variant"])
        r = rerun(run["run_key"], "--results", out, "--ftrace", trace)
        h.check(r.returncode == 0, "rerun --ftrace: " + r.stdout + r.stderr)
        check_ftrace(trace, run)

    # An rt-app workload (named by content, built to compute its key).
    rt = os.path.join(d, "small.json")
    r = subprocess.run([h.KREPLAY, "workload", "write", HELLO, "--seed", "2", "-o", rt], capture_output=True, text=True)
    h.check(r.returncode == 0, "workload write: " + r.stderr)
    head, _, tail = text.partition("workloads:")
    spec_rt = os.path.join(d, "rt.yaml")
    with open(spec_rt, "w") as f:
        f.write(head.replace("seeds: 2", "seeds: [2]") + "workloads:\n  - name: small\n    rtapp: small.json\n" +
                tail[tail.index("variants:"):])
    rt_out = os.path.join(d, "rt")
    h.run_local(spec_rt, rt_out)
    rt_key = runs_of(rt_out)[1]["run_key"]
    r = rerun(rt_key, "--results", rt_out)
    h.check(r.returncode == 0 and "bit-identical" in r.stdout, "rt-app rerun: " + r.stdout + r.stderr)

    # A distributed run's folder holds the ledger: its result bytes are compared too.
    dist = os.path.join(d, "dist")
    r = subprocess.run([h.KREPLAY, "run", HELLO, "--out", dist, "--quiet", "--progress", "none"], capture_output=True,
                       text=True, timeout=300)
    h.check(r.returncode == 0, "distributed run: " + r.stderr[-2000:])
    druns = runs_of(dist)
    r = rerun(druns[1]["run_key"], "--results", dist)
    h.check(r.returncode == 0 and "ledger bytes equal" in r.stdout, "rerun with ledger: " + r.stdout + r.stderr)
    # Another run's bytes under this key: results.json still matches, the ledger does not.
    db = sqlite3.connect(os.path.join(dist, "kreplay.db"))
    other = db.execute("SELECT result FROM results WHERE run_key = ?", (druns[0]["run_key"],)).fetchone()[0]
    db.execute("UPDATE results SET result = ? WHERE run_key = ?", (other, druns[1]["run_key"]))
    db.commit()
    db.close()
    r = rerun(druns[1]["run_key"], "--results", dist)
    h.check(r.returncode == 1 and "ledger" in r.stdout, "tampered ledger: %d %s %s" % (r.returncode, r.stdout, r.stderr))


if __name__ == "__main__":
    h.main(test)
