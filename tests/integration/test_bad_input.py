"""Malformed specs, workloads, flags and Kafka messages give a clear message
naming the file, line or field, and exit 2: never a crash, a hang or a
silent success. Workers survive garbage on the work topic."""
import os
import subprocess
import time
import urllib.request

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))


def run(args, timeout=60):
    return subprocess.run([h.KREPLAY] + args, capture_output=True, text=True, timeout=timeout)


def expect_bad(args, *needles):
    r = run(args)
    h.check(r.returncode == 2, "%s: exit %d, expected 2\n%s" % (" ".join(args), r.returncode, r.stderr))
    for n in needles:
        h.check(n in r.stderr, "%s: message lacks %r:\n%s" % (" ".join(args), n, r.stderr))
    return r


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


GOOD = """study: t
seeds: 2
platforms: [juno-r0]
workloads:
  - name: w
    synthetic: {duration: 100ms, groups: [{kind: interactive, count: 1, run: 1ms, sleep: 1ms}]}
variants:
  - {name: a, model: sched.cfs}
"""


def test():
    d = h.workdir("bad")
    # Flags.
    expect_bad(["run"], "spec is required")
    expect_bad(["run", "x.yaml", "--bogus-flag"], "bogus-flag")
    expect_bad(["run", "x.yaml", "--workers", "0"], "--workers")
    expect_bad(["worker", "--controller", "127.0.0.1:1", "--bootstrap-servers", "127.0.0.1:1",
                "--session-timeout-ms", "1000"], "session-timeout-ms")
    expect_bad(["run", os.path.join(d, "missing.yaml"), "--local"], "missing.yaml")
    good = write(d, "good.yaml", GOOD)
    expect_bad(["run", good, "--local", "--out", os.path.join(d, "o"), "-X", "novalue"], "-X")
    # Specs: several errors at once, each with file:line and field.
    bad = write(d, "bad.yaml", GOOD.replace("seeds: 2", "seeds: -1")
                .replace("model: sched.cfs", "model: sched.nope")
                .replace("platforms: [juno-r0]", "platforms: [juno-r0]\nplatfroms: [tc2]"))
    r = expect_bad(["run", bad, "--local"], "bad.yaml:2:", "seeds", "sched.nope", "platfroms")
    bad2 = write(d, "bad2.yaml", GOOD.replace("model: sched.cfs}", "model: sched.hmp, params: {hmp_up_threshold: 5000}}"))
    expect_bad(["run", bad2, "--local"], "hmp_up_threshold", "out of bounds")
    expect_bad(["run", write(d, "notyaml.yaml", "study: [unclosed\n"), "--local"], "notyaml.yaml")
    # Workloads: rt-app files with broken JSON and unsupported events.
    rt = write(d, "rt.json", '{"tasks": {"t1": {"loop": 1, "run": 1000, "lock": "m"}}}')
    spec_rt = write(d, "rt.yaml", GOOD.replace("synthetic: {duration: 100ms, groups: [{kind: interactive, count: 1, run: 1ms, sleep: 1ms}]}",
                                                 "rtapp: rt.json"))
    expect_bad(["run", spec_rt, "--local"], "unsupported event lock", "tasks.t1")
    write(d, "rt.json", '{"tasks": {"t1": {"run": 1000,, }}')
    expect_bad(["run", spec_rt, "--local"], "rt.json")
    write(d, "rt.json", '{"tasks": {"t1": {"run": -5}}}')
    expect_bad(["run", spec_rt, "--local"], "tasks.t1")
    # Unknown model / platform names in discovery commands.
    expect_bad(["models", "describe", "sched.nope"], "sched.nope", "sched.cfs")
    expect_bad(["platforms", "nope"], "nope", "juno-r0")

    # Garbage on the work topic: workers skip it, stay up, and still work.
    c = h.Cluster("garbage", workers=1)
    try:
        for payload in [b"\x00\x01garbage", b"\xff" * 1000]:  # two messages (kcat sends nothing for empty input)
            subprocess.run(["kcat", "-P", "-b", c.bootstrap, "-t", "kreplay.work", "-k", "junk"], input=payload,
                           timeout=30, check=True)
        out = os.path.join(c.dir, "out")
        r = c.submit(good, out)
        h.check(r.returncode == 0, "study after garbage failed: %s\n%s" % (r.stderr[-2000:], c.logs()))
        h.check(c.workers[0].poll() is None, "worker died on garbage input")
        # The garbage sits in a partition of its own, which the worker may
        # reach after the study is done: wait for the counter.
        count, deadline = 0.0, time.time() + 30
        while count < 2 and time.time() < deadline:
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % c.workers[0].metrics_port).read().decode()
            count = sum(float(l.split()[-1]) for l in text.splitlines() if 'outcome="malformed"' in l)
            time.sleep(0.5)
        h.check(count == 2, "expected 2 malformed items counted, got %s" % count)
        h.check(c.workers[0].poll() is None, "worker died on garbage input")
    finally:
        c.close()


if __name__ == "__main__":
    h.main(test)
