"""Embedded broker + controller + 2 workers run a study; the results equal a
single-process run bit for bit. Also: kcat reads the work topic, python
grpcio calls GetStudy and the health service, Prometheus scrapes the workers."""
import json
import os
import subprocess
import time
import urllib.request

import harness as h

SPEC = os.path.join(h.SOURCE_DIR, "examples", "biglittle-cfs-vs-hmp.yaml")


def test():
    local = h.workdir("local")
    h.run_local(SPEC, local)
    c = h.Cluster("dist", workers=2)
    try:
        out = os.path.join(c.dir, "out")
        r = c.submit(SPEC, out)
        h.check(r.returncode == 0, "submit --wait failed (%d): %s\n%s" % (r.returncode, r.stderr[-3000:], c.logs()))
        study_id = r.stdout.strip().splitlines()[0]
        # Bit-identical per-run results (the CSV holds every scalar of every run).
        a, b = h.read(os.path.join(local, "results.csv")), h.read(os.path.join(out, "results.csv"))
        h.check(a == b, "distributed results differ from the local run")
        ja = json.load(open(os.path.join(local, "results.json")))
        jb = json.load(open(os.path.join(out, "results.json")))
        h.check(ja["runs"] == jb["runs"], "results.json runs differ")
        # Both workers did work.
        done = c.db().execute("select count(*) from results").fetchone()[0]
        h.check(done == 20, "expected 20 recorded runs, got %d" % done)

        # kcat (Debian) reads the work topic: every run was published.
        k = subprocess.run(["kcat", "-C", "-b", c.bootstrap, "-t", "kreplay.work", "-e", "-q", "-f", "%k\n"],
                           capture_output=True, text=True, timeout=60)
        h.check(k.returncode == 0, "kcat failed: " + k.stderr)
        keys = set(x for x in k.stdout.split() if x)
        db_keys = set(x for (x,) in c.db().execute("select run_key from study_runs"))
        h.check(db_keys <= keys, "kcat did not see every work item (%d of %d)" % (len(db_keys & keys), len(db_keys)))

        # python3-grpcio: GetStudy and grpc.health.v1.
        g = subprocess.run(["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "grpc_client.py"),
                            c.address, study_id], capture_output=True, text=True, timeout=120)
        h.check(g.returncode == 0, "python grpc client failed: " + g.stdout + g.stderr)
        h.check("state=STUDY_SUCCEEDED done=20/20" in g.stdout, "GetStudy via python: " + g.stdout)
        h.check("health=SERVING" in g.stdout, "health via python: " + g.stdout)

        # Worker /metrics: valid exposition (promtool), with the work counted.
        total = 0.0
        for w in c.workers:
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % w.metrics_port, timeout=10).read().decode()
            p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            h.check(p.returncode == 0, "promtool check metrics: " + p.stdout + p.stderr)
            for line in text.splitlines():
                if line.startswith('kreplay_worker_work_items_total{outcome="ok"'):
                    total += float(line.split()[-1])
        h.check(total == 20, "workers' ok counters sum to %s, expected 20" % total)

        # A real Prometheus scrapes both workers and sees the same figure.
        # The controller's own exposition: valid, and it counted every result.
        ctext = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % c.controller.metrics_port, timeout=10).read().decode()
        p = subprocess.run(["promtool", "check", "metrics"], input=ctext, capture_output=True, text=True)
        h.check(p.returncode == 0, "promtool (controller): " + p.stdout + p.stderr)
        h.check('kreplay_controller_results_total{outcome="ok"} 20' in ctext, "controller results counter:\n" + ctext)

        targets = ["127.0.0.1:%d" % w.metrics_port for w in c.workers] + ["127.0.0.1:%d" % c.controller.metrics_port]
        prom, base = h.start_prometheus(c.dir, targets)
        got = h.prometheus_query(base, 'sum(kreplay_worker_work_items_total{outcome="ok"})', want=20.0)
        h.check(got == 20.0, "Prometheus query returned %s, expected 20\n%s" % (got, h.tail(c.path("prometheus.log"))))
        up = h.prometheus_query(base, 'sum(up{job="kreplay-workers"})', want=3.0)
        h.check(up == 3.0, "Prometheus sees %s of 3 targets up" % up)
        alive = h.prometheus_query(base, 'kreplay_controller_workers_alive', want=2.0)
        h.check(alive == 2.0, "controller reports %s workers alive" % alive)
        h.stop(prom)
    finally:
        c.close()


if __name__ == "__main__":
    h.main(test)
