"""SIGKILL the controller mid-study and restart it on the same port and data
directory: the broker and the workers survive, the workers reconnect, and
the study resumes and completes without recomputing recorded runs."""
import os
import signal
import subprocess
import time

import harness as h

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs", "steady.yaml")


def test():
    local = h.workdir("restart-local")
    h.run_local(SPEC, local)
    c = h.Cluster("restart", workers=2)
    try:
        r = subprocess.run([h.KREPLAY, "submit", SPEC, "--controller", c.address], capture_output=True, text=True,
                           timeout=120)
        h.check(r.returncode == 0, "submit failed: " + r.stderr)
        study = r.stdout.strip()
        deadline = time.time() + 120
        while c.recorded() < 6 and time.time() < deadline:
            time.sleep(0.2)
        before = c.recorded()
        h.check(before >= 6, "no progress before the kill\n" + c.logs())
        port = c.port
        os.kill(c.controller.pid, signal.SIGKILL)
        c.controller.wait()
        time.sleep(2)  # workers notice: their RPCs fail and retry
        c.start_controller(port)
        h.check(c.port == port, "restarted controller is on port %d, not %d" % (c.port, port))
        out = os.path.join(c.dir, "out")
        r = subprocess.run([h.KREPLAY, "submit", SPEC, "--controller", c.address, "--resume", "--wait", "--out", out,
                            "--progress", "plain"], capture_output=True, text=True, timeout=300)
        h.check(r.returncode == 0, "resume failed (%d): %s\n%s" % (r.returncode, r.stderr[-3000:], c.logs()))
        h.check(r.stdout.strip().splitlines()[0] == study, "resume attached to %s, not %s" % (r.stdout, study))
        h.check(all(w.poll() is None for w in c.workers), "a worker died during the controller restart")
        db = c.db()
        recorded = db.execute("select count(*) from results").fetchone()[0]
        h.check(recorded == 32, "recorded %d of 32" % recorded)
        h.check(h.read(os.path.join(local, "results.csv")) == h.read(os.path.join(out, "results.csv")),
                "results differ from the in-process run")
        print("controller killed after %d runs; resumed to 32" % before)
    finally:
        c.close()


if __name__ == "__main__":
    h.main(test)
