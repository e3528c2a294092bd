"""Virtio datapath studies end to end (the `virtio` model family).

- Malformed specs exit 2 from `spec check` and `run`, naming spec file:line
  and the field: a ring size that is not a power of two or exceeds 32768, an
  unknown profile, a pcap with a truncated record (and the packet number), a
  pcap of an unsupported link type, a bad virtio_block key. A kernel release
  without the backend fails the run, naming the parameter and the release.
- `kreplay trace inspect` of a pcap written here: packets, frame sizes and
  duration as written; `virtioprofiles` lists both shipped profiles and
  `virtioprofiles vm-2core` is a profile file a study takes back with the
  same results; `calibrate virtio` writes a profile a study runs on.
- A pcap replayed through vhost-net and vhost-user (timing kept) delivers
  every packet.
- examples/vduse-vs-ublk.yaml and examples/vhost-net-vs-vhost-user.yaml run
  with --local (each timed), and the first over the embedded broker with 2
  workers gives byte-identical results.csv and curves.csv.
"""
import collections
import csv
import gzip
import json
import os
import re
import struct
import time

import yaml

import harness as h

SRC = os.environ.get("KREPLAY_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
VDUSE = os.path.join(SRC, "examples", "vduse-vs-ublk.yaml")
VHOST = os.path.join(SRC, "examples", "vhost-net-vs-vhost-user.yaml")


run, write, line_of = h.kreplay, h.write, h.line_of


def pcap(packets, linktype=1, truncate_last=0):
    """A microsecond pcap (libpcap's classic format, little-endian): each
    packet (time_us, frame_len) captured whole with zero bytes."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for i, (t_us, n) in enumerate(packets):
        rec = struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, n, n) + bytes(n)
        if truncate_last and i == len(packets) - 1:
            rec = rec[:-truncate_last]
        out += rec
    return out


# 300 frames of 64..1514 bytes, 10 us apart.
FRAMES = [(10 * i, 64 + (i * 97) % 1451) for i in range(300)]


def results(path):
    out = collections.defaultdict(dict)
    with open(path) as f:
        for row in csv.DictReader(f):
            out[(row["variant"], row["platform"], row["workload"], int(row["seed"]))][row["metric"]] = float(row["value"])
    return out


# ------------------------------------------------------------------ bad specs

GOOD = """study: it-virtio-bad
seeds: 1
platforms: [vm-2core]
workloads:
  - name: blk
    virtio_block: {rw: randread, bs: 4KiB, iodepth: 4, ios: 200}
  - name: cap
    pcap: good.pcap
    direction: tx
variants:
  - name: vduse
    model: virtio.vduse
    params: {queue_size: 256}
"""


def bad_specs(d):
    sdir = os.path.join(d, "specs")
    write(os.path.join(sdir, "good.pcap"), pcap(FRAMES))
    write(os.path.join(sdir, "short.pcap"), pcap(FRAMES, truncate_last=10))
    write(os.path.join(sdir, "wifi.pcap"), pcap(FRAMES, linktype=105))
    good = write(os.path.join(sdir, "good.yaml"), GOOD.replace("model: virtio.vduse", "model: virtio.vhost-net")
                 .replace("    params: {queue_size: 256}\n", "").replace("  - name: blk\n    virtio_block: {rw: randread, bs: 4KiB, iodepth: 4, ios: 200}\n", ""))
    r = run(["spec", "check", good])
    h.check(r.returncode == 0, "the good spec fails `spec check`: %s" % r.stderr)
    cases = [
        ("ring not a power of two", GOOD.replace("queue_size: 256", "queue_size: 300"), "queue_size: 300",
         "variants[0].params.queue_size: 300 is not a power of two"),
        ("ring too big", GOOD.replace("queue_size: 256", "queue_size: 65536"), "queue_size: 65536",
         "variants[0].params.queue_size: 65536 is out of bounds [1, 32768]"),
        ("unknown profile", GOOD.replace("[vm-2core]", "[vm-2cores]"), "vm-2cores",
         "platforms[0]: unknown virtio host profile 'vm-2cores' (did you mean 'vm-2core'?)"),
        ("truncated pcap", GOOD.replace("good.pcap", "short.pcap"), "short.pcap",
         "workloads[1].pcap: "),
        ("unsupported link type", GOOD.replace("good.pcap", "wifi.pcap"), "wifi.pcap", "workloads[1].pcap: "),
        ("bad block key", GOOD.replace("iodepth: 4", "io_depth: 4"), "io_depth", "workloads[0].virtio_block.io_depth"),
        ("bad direction", GOOD.replace("direction: tx", "direction: up"), "direction: up", "workloads[1].direction"),
    ]
    for i, (label, text, needle, msg) in enumerate(cases):
        p = write(os.path.join(sdir, "bad%d.yaml" % i), text)
        want = "bad%d.yaml:%d: %s" % (i, line_of(text, needle), msg)
        for args in (["spec", "check", p], ["run", p, "--local", "--out", os.path.join(d, "o%d" % i)]):
            r = run(args)
            h.check(r.returncode == 2, "%s: `%s` exit %d, expected 2: %s" % (label, args[0], r.returncode, r.stderr))
            h.check(want in r.stderr, "%s: `%s` stderr lacks %r:\n%s" % (label, args[0], want, r.stderr))
        if label == "truncated pcap":
            h.check(re.search(r"short\.pcap: packet 300\b", r.stderr), "truncated pcap: no packet number:\n" + r.stderr)
        if label == "unsupported link type":
            h.check("link type 105" in r.stderr and "not supported" in r.stderr, "link type: %s" % r.stderr)
    # A release without the backend: the run fails naming both.
    p = write(os.path.join(sdir, "old.yaml"), GOOD.replace("params: {queue_size: 256}",
                                                           "params: {kernel_version: '5.10'}"))
    r = run(["run", p, "--local", "--out", os.path.join(d, "o-old")])
    h.check(r.returncode != 0 and "VDUSE needs kernel 5.15 or later (kernel_version is 5.10)" in r.stderr,
            "VDUSE on 5.10: exit %d: %s" % (r.returncode, r.stderr))
    return len(cases) + 1


# ------------------------------------------------------------------ catalog, inspect, calibrate

def catalog(d):
    r = run(["virtioprofiles"])
    h.check(r.returncode == 0, "virtioprofiles: %s" % r.stderr)
    rows = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    h.check(rows == ["server-x86", "vm-2core"], "virtioprofiles lists %s" % rows)
    r = run(["virtioprofiles", "vm-2core"])
    h.check(r.returncode == 0 and re.search(r"^name: \"?vm-2core\"?$", r.stdout, re.M), "virtioprofiles vm-2core: %s" % r.stderr)
    pdir = os.path.join(d, "profile")
    write(os.path.join(pdir, "exported.yaml"), r.stdout)
    spec = """study: it-virtio-exported
seeds: 1
platforms: [%s]
workloads:
  - name: w
    virtio_block: {rw: randwrite, bs: 16KiB, iodepth: 8, ios: 500}
variants:
  - {name: vduse, model: virtio.vduse}
  - {name: ublk, model: virtio.ublk}
"""
    outs = []
    for label, plat in (("file", "./exported.yaml"), ("shipped", "vm-2core")):
        p = write(os.path.join(pdir, label + ".yaml"), spec % plat)
        out = os.path.join(pdir, "out-" + label)
        h.run_local(p, out)
        outs.append(out)
    a, b = (h.read(os.path.join(o, "results.csv")) for o in outs)
    h.check(a == b, "the exported vm-2core gives other results than the shipped one")

    # trace inspect: the pcap as written.
    cap = write(os.path.join(d, "inspect.pcap"), pcap(FRAMES))
    r = run(["trace", "inspect", "--json", cap])
    h.check(r.returncode == 0, "trace inspect pcap: exit %d: %s" % (r.returncode, r.stderr))
    j = json.loads(r.stdout)
    sizes = sorted(n for _, n in FRAMES)
    h.check(j["packets"] == len(FRAMES) and j["frame_bytes"] == sum(sizes), "inspect counts: %s" % j)
    h.check(j["frame_size"]["min"] == sizes[0] and j["frame_size"]["max"] == sizes[-1], "inspect sizes: %s" % j)
    h.check(j["duration_ns"] == FRAMES[-1][0] * 1000, "inspect duration: %s" % j["duration_ns"])
    r = run(["trace", "inspect", cap])
    h.check(r.returncode == 0 and str(len(FRAMES)) in r.stdout, "inspect text: %s%s" % (r.stdout, r.stderr))

    # calibrate virtio: a profile of this host that a study runs on.
    out = os.path.join(d, "host.yaml")
    r = run(["calibrate", "virtio", "--repeats", "1", "--cold-mib", "16", "--name", "it-host", "--out", out],
            timeout=240)
    h.check(r.returncode == 0 and os.path.exists(out), "calibrate virtio: exit %d: %s" % (r.returncode, r.stderr))
    text = h.read(out)
    h.check(re.search(r'^name: "?it-host"?$', text, re.M) and "measured" in text, "calibrated profile:\n" + text[:2000])
    spec_text = spec.replace("it-virtio-exported", "it-virtio-host") % "./host.yaml"
    p = write(os.path.join(d, "host-study.yaml"), spec_text)
    h.run_local(p, os.path.join(d, "out-host"))
    got = results(os.path.join(d, "out-host", "results.csv"))
    h.check(len(got) == 2 and all(m["requests"] == 500 for m in got.values()), "host study: %s" % dict(got))
    return 4


# ------------------------------------------------------------------ pcap replay

def pcap_study(d):
    write(os.path.join(d, "pc", "frames.pcap"), pcap(FRAMES))
    write(os.path.join(d, "pc", "frames.pcap.gz"), gzip.compress(pcap(FRAMES[:200])))  # read like a plain one
    p = write(os.path.join(d, "pc", "study.yaml"), """study: it-virtio-pcap
seeds: 1
platforms: [server-x86]
workloads:
  - name: tx
    pcap: frames.pcap
  - name: rx
    pcap: frames.pcap
    direction: rx
  - name: gz
    pcap: frames.pcap.gz
variants:
  - {name: vhost-net, model: virtio.vhost-net}
  - {name: vhost-user, model: virtio.vhost-user}
""")
    out = os.path.join(d, "pc", "out")
    h.run_local(p, out)
    got = results(os.path.join(out, "results.csv"))
    h.check(len(got) == 6, "pcap runs: %s" % sorted(got))
    for key, m in got.items():
        frames = FRAMES[:200] if key[2] == "gz" else FRAMES
        h.check(m["requests"] == len(frames) and m["drops"] == 0, "%s: %s packets, %s drops" % (key, m["requests"],
                                                                                              m["drops"]))
        # The replay keeps the capture's pace: the last frame 10 us after the one before.
        span_ms = frames[-1][0] / 1000
        h.check(span_ms - 0.1 < m["duration_ms"] < span_ms + 0.1, "%s: duration %s ms" % (key, m["duration_ms"]))


# ------------------------------------------------------------------ the examples

def examples(d):
    timings = {}
    outs = {}
    for name, spec in (("vduse", VDUSE), ("vhost", VHOST)):
        out = os.path.join(d, "ex-" + name)
        t0 = time.monotonic()
        h.run_local(spec, out)
        timings[name] = time.monotonic() - t0
        outs[name] = out
        h.check(timings[name] < 60, "%s took %.1f s (the issue allows 60 s on 2 cores)" % (spec, timings[name]))
    # What each workload asks for, read from the example specs themselves.
    blk = {e["name"]: e["virtio_block"] for e in yaml.safe_load(h.read(VDUSE))["workloads"]}
    net = {e["name"]: e["virtio_net"] for e in yaml.safe_load(h.read(VHOST))["workloads"]}
    got = results(os.path.join(outs["vduse"], "results.csv"))
    h.check({k[2] for k in got} == set(blk), "vduse example workloads: %s" % sorted({k[2] for k in got}))
    for (v, p, w, s), m in got.items():
        want = blk[w]["ios"] * blk[w].get("numjobs", 1)
        h.check(m["requests"] == want, "%s/%s/%s: %s requests, the spec asks %d" % (v, p, w, m["requests"], want))
        h.check(m["copies_per_req"] == (3 if v == "vduse" else 1 if v == "ublk" else 0),
                "%s/%s/%s: copies per request %s" % (v, p, w, m["copies_per_req"]))
    for f in ("curves-kiops.svg", "curves-latency_p50_us.svg"):
        h.check(os.path.exists(os.path.join(outs["vduse"], f)), "vduse example lacks %s" % f)
    for f in ("curves-mpps.svg", "curves-latency_p50_us.svg"):
        h.check(os.path.exists(os.path.join(outs["vhost"], f)), "vhost example lacks %s" % f)
    vh = results(os.path.join(outs["vhost"], "results.csv"))
    h.check({k[2] for k in vh} == set(net), "vhost example workloads: %s" % sorted({k[2] for k in vh}))
    for (v, p, w, s), m in vh.items():
        line = 100e3 / (8 * (net[w]["size"] + 24))  # Mpps at 100 Gbit/s with preamble, FCS and gap
        h.check(m["mpps"] <= line, "%s/%s/%s: %s Mpps over the line rate" % (v, p, w, m["mpps"]))
        h.check(m["requests"] + m["drops"] == net[w]["packets"], "%s/%s/%s: packets lost" % (v, p, w))

    c = h.Cluster("virtiostudy", workers=2)
    try:
        out = os.path.join(c.dir, "out")
        r = c.submit(VDUSE, out, timeout=240)
        h.check(r.returncode == 0, "submit --wait failed (%d): %s\n%s" % (r.returncode, r.stderr[-3000:], c.logs()))
        for f in ("results.csv", "curves.csv"):
            h.check(h.read(os.path.join(outs["vduse"], f)) == h.read(os.path.join(out, f)),
                    "%s differs between --local and the 2-worker cluster" % f)
    finally:
        c.close()
    return timings


def test():
    d = h.workdir("virtiostudy")
    nbad = bad_specs(d)
    ncat = catalog(d)
    pcap_study(d)
    t = examples(d)
    print("bad specs %d; catalog/inspect/calibrate %d; pcap replay; examples %.1f s and %.1f s locally, "
          "vduse-vs-ublk local == 2 workers" % (nbad, ncat, t["vduse"], t["vhost"]))


if __name__ == "__main__":
    h.main(test)
