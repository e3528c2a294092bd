"""`kreplay workload write` exports a synthetic workload as rt-app JSON that
reads back as the identical workload (same content digest), and a controller
with --reuse-traces publishes each trace once however many runs read it."""
import json
import os
import subprocess

import harness as h

HELLO = os.path.join(h.SOURCE_DIR, "examples", "hello.yaml")


def test():
    d = h.workdir("cli")
    rt = os.path.join(d, "small.json")
    r = subprocess.run([h.KREPLAY, "workload", "write", HELLO, "--seed", "2", "-o", rt], capture_output=True, text=True)
    h.check(r.returncode == 0, "workload write failed: " + r.stderr)
    spec_rt = os.path.join(d, "rt.yaml")
    with open(HELLO) as f:
        text = f.read()
    # The same study, but its workload is the exported file and the seed is 2.
    head, _, tail = text.partition("workloads:")
    variants = tail[tail.index("variants:"):]
    with open(spec_rt, "w") as f:
        f.write(head.replace("seeds: 2", "seeds: [2]") + "workloads:\n  - name: small\n    rtapp: small.json\n" + variants)
    h.run_local(HELLO, os.path.join(d, "synth"))
    h.run_local(spec_rt, os.path.join(d, "rt"))
    synth = json.load(open(os.path.join(d, "synth", "results.json")))["runs"]
    rtapp = json.load(open(os.path.join(d, "rt", "results.json")))["runs"]
    # Synthetic workloads are named by their generator inputs, rt-app ones by
    # their content, so the digests differ; the workload itself must not: every
    # model gives the same results on the export as on the generated original.
    def results(runs, seed=None):
        return {(r["variant"], r["platform"]): (r["scalars"], r["sim_events"], r["sim_time_ns"])
                for r in runs if seed is None or r["seed"] == seed}
    sr, rr = results(synth, 2), results(rtapp)
    h.check(len(sr) == 2 and sr == rr, "the exported workload gives other results than the original")

    # The same study with its workload published as a trace, not as its spec.
    spec_trace = os.path.join(d, "trace.yaml")
    with open(spec_trace, "w") as f:
        f.write(text.replace("  - name: small\n", "  - name: small\n    transport: trace\n"))
    c = h.Cluster("reuse", workers=2, controller_args=["--reuse-traces"])
    try:
        r = c.submit(spec_trace, os.path.join(c.dir, "out"))
        h.check(r.returncode == 0, "study failed: %s\n%s" % (r.stderr[-2000:], c.logs()))
        k = subprocess.run(["kcat", "-C", "-b", c.bootstrap, "-t", "kreplay.traces", "-e", "-q", "-f", "%k\n"],
                           capture_output=True, text=True, timeout=60)
        h.check(k.returncode == 0, "kcat failed: " + k.stderr)
        keys = [x for x in k.stdout.split() if x]
        # hello: 2 seeds -> 2 traces of one chunk each, read by 4 runs on 2 workers.
        h.check(len(set(keys)) == 2, "expected 2 distinct traces, saw %d" % len(set(keys)))
        h.check(len(keys) == 2, "with --reuse-traces each trace is published once; saw %d chunk messages" % len(keys))
    finally:
        c.close()


if __name__ == "__main__":
    h.main(test)
