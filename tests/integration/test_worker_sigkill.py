"""SIGKILL one worker mid-study: the study still completes, every run is
recorded exactly once, and the results equal the in-process run."""
import os
import signal
import subprocess
import time

import harness as h

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs", "steady.yaml")


def test():
    local = h.workdir("kill-local")
    h.run_local(SPEC, local)
    c = h.Cluster("kill", workers=2)
    try:
        out = os.path.join(c.dir, "out")
        submit = subprocess.Popen([h.KREPLAY, "submit", SPEC, "--controller", c.address, "--wait", "--out", out,
                                   "--progress", "plain"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while c.recorded() < 4 and time.time() < deadline:
            time.sleep(0.2)
        h.check(c.recorded() >= 4, "no progress before the kill\n" + c.logs())
        victim = c.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        print("killed worker 0 after %d runs" % c.recorded())
        try:
            so, se = submit.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            submit.kill()
            raise h.Fail("study did not finish after the kill\n" + c.logs())
        h.check(submit.returncode == 0, "submit --wait failed (%d): %s\n%s" % (submit.returncode, se[-3000:], c.logs()))
        db = c.db()
        runs = db.execute("select count(distinct run_key) from study_runs").fetchone()[0]
        recorded = db.execute("select count(*) from results").fetchone()[0]
        failures = db.execute("select count(*) from failures").fetchone()[0]
        h.check(runs == 32, "expected 32 runs, found %d" % runs)
        h.check(recorded == runs, "recorded %d results for %d runs" % (recorded, runs))
        h.check(failures == 0, "%d failures recorded" % failures)
        h.check(h.read(os.path.join(local, "results.csv")) == h.read(os.path.join(out, "results.csv")),
                "results differ from the in-process run")
        h.check("DETERMINISM" not in c.logs(), "determinism mismatch reported")
    finally:
        c.close()


if __name__ == "__main__":
    h.main(test)
