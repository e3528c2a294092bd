"""Ctrl-C on `kreplay run` cancels cleanly: exit 130, every child process it
started (broker, workers) is gone; `kreplay run --resume` then finishes the
same study without recomputing the runs already recorded, and its results
equal the in-process run."""
import os
import re
import signal
import sqlite3
import subprocess
import time

import harness as h

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs", "steady.yaml")


def children_of(pid):
    """PIDs whose environment names `pid` as KREPLAY_PARENT_PID."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if b"KREPLAY_PARENT_PID=%d\x00" % pid in f.read():
                    out.append(int(d))
        except OSError:
            pass
    return out


def recorded(db):
    try:
        return sqlite3.connect(db).execute("select count(*) from results").fetchone()[0]
    except sqlite3.Error:
        return 0


def test():
    local = h.workdir("int-local")
    h.run_local(SPEC, local)
    out = os.path.join(h.workdir("int"), "out")
    db = os.path.join(out, "kreplay.db")
    p = subprocess.Popen([h.KREPLAY, "run", SPEC, "--out", out, "--progress", "plain", "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while recorded(db) < 4 and time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
    kids = children_of(p.pid)
    h.check(len(kids) == 3, "expected broker + 2 workers as children, found %s" % kids)
    before = recorded(db)
    h.check(0 < before < 32, "interrupt should land mid-study (recorded %d)" % before)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        raise h.Fail("kreplay run did not exit within 60 s of SIGINT")
    h.check(p.returncode == 130, "exit %d after SIGINT, expected 130: %s" % (p.returncode, err[-1500:]))
    h.check("--resume" in err, "the interrupt message should say how to continue: " + err[-500:])
    time.sleep(0.5)
    alive = [k for k in kids if os.path.exists("/proc/%d" % k)]
    h.check(not alive, "children still alive after exit: %s" % alive)

    at_interrupt = recorded(db)
    r = subprocess.run([h.KREPLAY, "run", SPEC, "--out", out, "--resume", "--progress", "plain", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    h.check(r.returncode == 0, "resume failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
    m = re.search(r"(\d+) runs \((\d+) already recorded\)", r.stderr)
    h.check(m and int(m.group(1)) == 32, "resume did not report the study: " + r.stderr[-1000:])
    h.check(int(m.group(2)) >= at_interrupt, "resume reports %s recorded, %d were" % (m.group(2), at_interrupt))
    h.check(recorded(db) == 32, "recorded %d of 32 after resume" % recorded(db))
    h.check(h.read(os.path.join(local, "results.csv")) == h.read(os.path.join(out, "results.csv")),
            "results after resume differ from the in-process run")
    print("interrupted at %d/32, resumed with %s recorded" % (at_interrupt, m.group(2)))


if __name__ == "__main__":
    h.main(test)
