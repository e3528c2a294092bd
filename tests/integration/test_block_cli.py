"""`kreplay trace inspect` and `kreplay trace convert` on small fixtures of
every block trace format (tests/integration/traces), checked against a plain
Python reading of the same files written from the format rules in
services/blocktrace/README.md; broken files exit 2 naming file:line and the
field; converted traces replay in the real fio and re-import unchanged."""
import gzip
import json
import os
import re
import subprocess
from decimal import Decimal

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
TRACES = os.path.join(HERE, "traces")
MAPPING = "time=1:ms,offset=2:sectors,size=3:sectors,op=0,volume=4,task=5"
OPS = ("read", "write", "discard", "flush")


# ------------------------------------------------------------------ reference
# Each reader returns (requests, has_task_ids, volumes); a request is
# (time_ns, volume, op, offset_bytes, bytes, task). Times are absolute here;
# expect() makes them relative to the first request as the README says.

def ns(text, unit_ns):
    """A non-negative decimal in `unit_ns` units as whole ns, truncated."""
    return int(Decimal(text) * unit_ns)


def read_blkparse(text, event="Q"):
    out = []
    for line in text.splitlines():
        t = line.split()
        if len(t) < 2 or not re.fullmatch(r"\d+,\d+", t[0]) or not t[1].isdigit():
            continue  # CPU / Total / Throughput summaries
        if t[5] != event:
            continue
        rwbs = t[6]
        has_range = len(t) >= 8 and t[7].isdigit()
        sector, n = (int(t[7]), int(t[9]) * 512) if has_range else (0, 0)
        if n > 0 and any(c in rwbs for c in "DWR"):
            op = "discard" if "D" in rwbs else "write" if "W" in rwbs else "read"
        elif rwbs.startswith("F"):
            op, sector, n = "flush", 0, 0
        else:
            continue  # no data, no flush
        out.append((ns(t[3], 10**9), t[0], op, sector * 512, n, int(t[4])))
    return out, True


def read_msr(text):
    out = []
    for line in text.splitlines():
        f = line.split(",")
        if not line.strip() or f[0] == "Timestamp":
            continue
        op = {"read": "read", "write": "write"}[f[3].lower()]
        out.append((int(f[0]) * 100, f[1] + "_" + f[2], op, int(f[4]), int(f[5]), 0))
    return out, False


def read_fio(text, version):
    lines = text.splitlines()
    assert lines[0] == "fio version %d iolog" % version
    out, now = [], 0
    for line in lines[1:]:
        t = line.split()
        if not t:
            continue
        if version == 3:
            now = int(t[0]) * 1000
            t = t[1:]
        name, act = t[0], t[1]
        if act in ("add", "open", "close"):
            continue
        if act == "wait":
            now += int(t[2]) * 1000
            continue
        if act in ("sync", "datasync"):
            out.append((now, name, "flush", 0, 0, 0))
            continue
        op = {"read": "read", "write": "write", "trim": "discard"}[act]
        out.append((now, name, op, int(t[2]), int(t[3]), 0))
    return out, False


def read_alibaba(text):
    out = []
    for line in text.splitlines():
        f = line.split(",")
        if f[0] == "device_id":
            continue
        out.append((int(f[4]) * 1000, f[0], {"R": "read", "W": "write"}[f[1]], int(f[2]), int(f[3]), 0))
    return out, False


def read_tencent(text):
    out = []
    for line in text.splitlines():
        f = line.split(",")
        if f[0] == "Timestamp":
            continue
        out.append((int(f[0]) * 10**9, f[4], ("read", "write")[int(f[3])], int(f[1]) * 512, int(f[2]) * 512, 0))
    return out, False


def read_mapped(text):
    """MAPPING: op,ts_ms,lba(sectors),sectors,volume,pid with a header row."""
    import csv
    import io
    names = {"r": "read", "read": "read", "w": "write", "write": "write", "trim": "discard",
             "discard": "discard", "flush": "flush"}
    out = []
    for i, f in enumerate(csv.reader(io.StringIO(text))):
        if i == 0:
            continue
        out.append((ns(f[1], 10**6), f[4], names[f[0].lower()], int(f[2]) * 512, int(f[3]) * 512, int(f[5])))
    return out, True


def read_kreplay_csv(text):
    """kreplay's own layout: time_ns,volume,op,offset,bytes[,task][,sync]."""
    import csv
    import io
    rows = list(csv.reader(io.StringIO(text)))
    head = rows[0]
    h.check(head[:5] == ["time_ns", "volume", "op", "offset", "bytes"], "csv header: %s" % head)
    h.check(head[5:] in ([], ["task"], ["sync"], ["task", "sync"]), "csv header: %s" % head)
    tasks = "task" in head
    out = []
    for f in rows[1:]:
        out.append((int(f[0]), f[1], f[2], int(f[3]), int(f[4]), int(f[5]) if tasks else 0))
    return out, tasks


def normalise(reqs):
    """Times relative to the first request, clamped to be non-decreasing."""
    out, prev = [], None
    for (t, vol, op, off, n, task) in reqs:
        t = t - reqs[0][0]
        if prev is not None and t < prev:
            t = prev
        prev = t
        out.append((t, vol, op, off, n, task))
    return out


def expect(reqs, has_tasks, fmt):
    """The summary fields `trace inspect --json` must report for `reqs`."""
    reqs = normalise(reqs)
    e = {"format": fmt, "requests": len(reqs), "has_task_ids": has_tasks, "clamped_times": 0}
    for op in OPS:
        e[op + "s" if op != "flush" else "flushes"] = sum(1 for r in reqs if r[2] == op)
    e["bytes_read"] = sum(r[4] for r in reqs if r[2] == "read")
    e["bytes_written"] = sum(r[4] for r in reqs if r[2] == "write")
    e["bytes_discarded"] = sum(r[4] for r in reqs if r[2] == "discard")
    vols = []
    for r in reqs:
        if r[1] not in vols:
            vols.append(r[1])
    e["volumes"] = vols
    blocks, last_end, seq, pred = set(), {}, 0, 0
    for (t, vol, op, off, n, task) in reqs:
        if op == "flush":
            continue
        if vol in last_end:
            pred += 1
            seq += last_end[vol] == off
        last_end[vol] = off + n
        if op != "discard":
            blocks.update((vol, b) for b in range(off // 4096, (off + n - 1) // 4096 + 1))
    e["footprint_blocks_4k"] = len(blocks)
    e["footprint_exact"] = True
    e["sequential"] = seq
    e["with_predecessor"] = pred
    e["duration_ns"] = reqs[-1][0]
    return e, reqs


# ------------------------------------------------------------------ helpers

def kr(args, stdin=None, timeout=60):
    return subprocess.run([h.KREPLAY] + args, input=stdin, capture_output=True, timeout=timeout)


def fixture(name):
    with open(os.path.join(TRACES, name)) as f:
        return f.read()


def write(d, name, data):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return p


def inspect_json(path, extra=(), stdin=None):
    r = kr(["trace", "inspect", "--json"] + list(extra) + [path], stdin=stdin)
    h.check(r.returncode == 0, "inspect --json %s: exit %d: %s" % (path, r.returncode, r.stderr.decode()))
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise h.Fail("inspect --json %s: not JSON (%s):\n%s" % (path, e, r.stdout.decode()[:2000]))


def check_summary(label, got, want):
    for k, v in want.items():
        h.check(got.get(k) == v, "%s: %s = %r, expected %r" % (label, k, got.get(k), v))


def check_text(label, text, want):
    """The plain `trace inspect` output carries the same counts."""
    def count(name):
        m = re.search(r"^\s*%s\s+(\d+)" % name, text, re.M)
        h.check(m is not None, "%s: no %r line in:\n%s" % (label, name, text))
        return int(m.group(1))
    for name in ("requests", "reads", "writes", "discards", "flushes"):
        h.check(count(name) == want[name], "%s: text %s = %d, expected %d" % (label, name, count(name), want[name]))
    m = re.search(r"^footprint\s+(\d+) x 4 KiB blocks", text, re.M)
    h.check(m and int(m.group(1)) == want["footprint_blocks_4k"], "%s: footprint line:\n%s" % (label, text))
    h.check(re.search(r"^volumes\s+%d$" % len(want["volumes"]), text, re.M), "%s: volumes line:\n%s" % (label, text))
    h.check(("task IDs              yes" in text) == want["has_task_ids"], "%s: task IDs line:\n%s" % (label, text))


# ------------------------------------------------------------------ parts

def test_inspect(d):
    blk = fixture("blkparse.txt")
    ten = fixture("tencent.csv")
    msr = fixture("msr.csv")
    ali = fixture("alibaba.csv")
    cases = [
        # label, path, extra args, stdin, (reqs, tasks), format
        ("blkparse Q", os.path.join(TRACES, "blkparse.txt"), [], None, read_blkparse(blk, "Q"), "blkparse"),
        ("blkparse D", os.path.join(TRACES, "blkparse.txt"), ["--blkparse-event", "D"], None,
         read_blkparse(blk, "D"), "blkparse"),
        ("msr", os.path.join(TRACES, "msr.csv"), [], None, read_msr(msr), "msr"),
        ("msr gzip", write(d, "msr.csv.gz", gzip.compress(msr.encode())), [], None, read_msr(msr), "msr"),
        ("fio v2", os.path.join(TRACES, "fio_v2.log"), [], None, read_fio(fixture("fio_v2.log"), 2), "fio-v2"),
        ("fio v3", os.path.join(TRACES, "fio_v3.log"), [], None, read_fio(fixture("fio_v3.log"), 3), "fio-v3"),
        ("alibaba", os.path.join(TRACES, "alibaba.csv"), [], None, read_alibaba(ali), "alibaba"),
        ("alibaba stdin", "-", [], ali.encode(), read_alibaba(ali), "alibaba"),
        ("tencent", os.path.join(TRACES, "tencent.csv"), [], None, read_tencent(ten), "tencent"),
        ("tencent header", write(d, "tencent-header.csv", "Timestamp,Offset,Size,IOType,VolumeID\n" + ten),
         ["--format", "tencent"], None, read_tencent(ten), "tencent"),
        ("mapped csv", os.path.join(TRACES, "mapped.csv"), ["--format", "csv", "--csv-mapping", MAPPING], None,
         read_mapped(fixture("mapped.csv")), "csv"),
    ]
    # zstd through the real zstd tool.
    zp = os.path.join(d, "tencent.csv.zst")
    subprocess.run(["zstd", "-q", "-f", "-o", zp, os.path.join(TRACES, "tencent.csv")], check=True, timeout=30)
    cases.append(("tencent zstd", zp, [], None, read_tencent(ten), "tencent"))
    for label, path, extra, stdin, (reqs, tasks), fmt in cases:
        h.check(len(reqs) >= 4, "%s: fixture too small for the test (%d requests)" % (label, len(reqs)))
        want, _ = expect(reqs, tasks, fmt)
        check_summary(label, inspect_json(path, extra, stdin), want)
        r = kr(["trace", "inspect"] + extra + [path], stdin=stdin)
        h.check(r.returncode == 0, "%s: inspect exit %d: %s" % (label, r.returncode, r.stderr.decode()))
        check_text(label, r.stdout.decode(), want)
    # Sanity of the fixtures themselves: every format's rules get exercised.
    q, _ = read_blkparse(blk, "Q")
    h.check({r[2] for r in q} == set(OPS), "blkparse fixture should hold every op")
    return len(cases)


def replace_line(text, lineno, new):
    lines = text.split("\n")
    lines[lineno - 1] = new
    return "\n".join(lines)


def expect_broken(label, path, lineno, fields, extra=(), needle=None):
    """Exit 2; stderr names path:line and one of `fields` (field 'X')."""
    r = kr(["trace", "inspect"] + list(extra) + [path])
    err = r.stderr.decode()
    h.check(r.returncode == 2, "%s: exit %d, expected 2; stderr: %s" % (label, r.returncode, err))
    h.check("%s:%d:" % (os.path.basename(path), lineno) in err, "%s: stderr lacks %s:%d: %s" %
            (label, os.path.basename(path), lineno, err))
    h.check(any("field '%s'" % f in err for f in fields), "%s: stderr names none of %s: %s" % (label, fields, err))
    if needle:
        h.check(needle in err, "%s: stderr lacks %r: %s" % (label, needle, err))
    # And the same error from convert, which writes no output file.
    out = path + ".out"
    c = kr(["trace", "convert"] + list(extra) + [path, "--to", "csv", out])
    h.check(c.returncode == 2, "%s: convert exit %d, expected 2" % (label, c.returncode))
    h.check(not os.path.exists(out), "%s: convert left %s behind after an error" % (label, out))


def test_broken(d):
    blk, msr, v3 = fixture("blkparse.txt"), fixture("msr.csv"), fixture("fio_v3.log")
    ali, ten, mapped = fixture("alibaba.csv"), fixture("tencent.csv"), fixture("mapped.csv")
    n = 0
    # (label, file name, content, line, accepted field names, extra args, needle)
    cases = [
        # blkparse: "maj,min cpu seq time pid action rwbs sector + nsectors"
        ("blkparse truncated", "b1.txt", replace_line(blk, 4, "  8,0    0        4     0.000010000  2001  Q   R 1008 +"),
         4, ["nsectors"], [], "truncated"),
        ("blkparse bad number", "b2.txt", replace_line(blk, 10, blk.split("\n")[9].replace("524288", "52x288")),
         10, ["sector"], [], None),
        ("blkparse unknown action", "b3.txt", replace_line(blk, 11, blk.split("\n")[10].replace(" G ", " Z ")),
         11, ["action"], [], "Z"),
        # MSR: cut mid-line (the 3 fields kept; a missing field is named),
        # a size with a suffix, an op MSR does not have.
        ("msr truncated", "m1.csv", replace_line(msr, 5, "128166372001000000,web,1"),
         5, ["Type", "Offset", "Size", "ResponseTime"], [], "truncated"),
        ("msr bad number", "m2.csv", replace_line(msr, 3, "128166372000200000,web,1,Write,0,64k,300"),
         3, ["Size"], [], "64k"),
        ("msr unknown op", "m3.csv", replace_line(msr, 7, "128166372002000000,web,1,Erase,1048576,16384,250"),
         7, ["Type"], [], "Erase"),
        # fio v3: "us file action offset length"
        ("fio v3 truncated", "f1.log", replace_line(v3, 6, "300 /tmp/kr-c read 3145728"), 6, ["length"], [],
         "truncated"),
        ("fio v3 bad number", "f2.log", replace_line(v3, 4, "12 /tmp/kr-c read 0x10 4096"), 4, ["offset"], [], None),
        ("fio v3 unknown op", "f3.log", replace_line(v3, 5, "130 /tmp/kr-c frobnicate 4096 4096"), 5, ["action"],
         [], "frobnicate"),
        ("fio v3 bad time", "f4.log", replace_line(v3, 7, "3o1 /tmp/kr-c write 24576 4096"), 7, ["timestamp"], [],
         None),
        # Alibaba: "device_id,opcode,offset,length,timestamp"
        ("alibaba truncated", "a1.csv", replace_line(ali, 4, "7,W,8589934592"), 4, ["length", "timestamp"], [],
         "truncated"),
        ("alibaba bad number", "a2.csv", replace_line(ali, 5, "3,W,4096,-8192,1577808144362500"), 5, ["length"], [],
         "negative"),
        ("alibaba unknown op", "a3.csv", replace_line(ali, 6, "7,X,8589967360,32768,1577808144362501"), 6,
         ["opcode"], [], None),
        # Tencent: "Timestamp,Offset(sectors),Size(sectors),IOType,VolumeID"
        ("tencent truncated", "t1.csv", replace_line(ten, 3, "1538323200,409600,128"), 3, ["IOType", "VolumeID"],
         [], "truncated"),
        ("tencent bad number", "t2.csv", replace_line(ten, 2, "1538323200,20x6,8,0,1063"), 2, ["Offset"], [], None),
        ("tencent unknown op", "t3.csv", replace_line(ten, 4, "1538323201,2064,16,2,1063"), 4, ["IOType"], [], None),
        # Mapped CSV: op,ts_ms,lba,sectors,volume,pid
        ("csv truncated", "c1.csv", replace_line(mapped, 3, 'R,0.5,8,8'), 3, ["line", "volume", "task"],
         ["--format", "csv", "--csv-mapping", MAPPING], "truncated"),
        ("csv bad number", "c2.csv", replace_line(mapped, 4, 'W,1.25,4096,1.5,sdb,202'), 4, ["size"],
         ["--format", "csv", "--csv-mapping", MAPPING], None),
        ("csv unknown op", "c3.csv", replace_line(mapped, 7, 'erase,2.0005,16,64,"8,0",101'), 7, ["op"],
         ["--format", "csv", "--csv-mapping", MAPPING], "erase"),
    ]
    for label, name, text, line, fields, extra, needle in cases:
        expect_broken(label, write(d, name, text), line, fields, extra, needle)
        n += 1
    # A broken line inside a compressed file keeps its line number.
    gz = write(d, "m4.csv.gz", gzip.compress(replace_line(msr, 8, "128166372002000000,web,0,Read,1e9,131072,900")
                                             .encode()))
    expect_broken("msr gzip bad number", gz, 8, ["Offset"])
    # A gzip stream cut short is an error, not a short trace.
    whole = gzip.compress((msr * 200).encode())
    cut = write(d, "cut.csv.gz", whole[:len(whole) // 2])
    r = kr(["trace", "inspect", cut])
    h.check(r.returncode == 2 and "cut.csv.gz" in r.stderr.decode() and "gzip" in r.stderr.decode(),
            "cut gzip: exit %d: %s" % (r.returncode, r.stderr.decode()))
    # A missing file names itself.
    r = kr(["trace", "inspect", os.path.join(d, "nope.csv")])
    h.check(r.returncode == 2 and "nope.csv" in r.stderr.decode(), "missing file: exit %d: %s" %
            (r.returncode, r.stderr.decode()))
    return n + 3


def test_convert(d):
    n = 0
    blk = fixture("blkparse.txt")
    cases = [
        ("blkparse", os.path.join(TRACES, "blkparse.txt"), [], read_blkparse(blk, "Q"), "blkparse"),
        ("msr", os.path.join(TRACES, "msr.csv"), [], read_msr(fixture("msr.csv")), "msr"),
        ("fio v2", os.path.join(TRACES, "fio_v2.log"), [], read_fio(fixture("fio_v2.log"), 2), "fio-v2"),
        ("mapped csv", os.path.join(TRACES, "mapped.csv"), ["--format", "csv", "--csv-mapping", MAPPING],
         read_mapped(fixture("mapped.csv")), "csv"),
    ]
    for label, path, extra, (reqs, tasks), fmt in cases:
        want, norm = expect(reqs, tasks, fmt)
        # --to csv: the plain reading of the CSV is the same request stream,
        # and inspect re-imports it to the same summary.
        out_csv = os.path.join(d, "conv-%d.csv" % n)
        r = kr(["trace", "convert"] + extra + [path, "--to", "csv", out_csv])
        h.check(r.returncode == 0, "%s: convert --to csv exit %d: %s" % (label, r.returncode, r.stderr.decode()))
        got, got_tasks = read_kreplay_csv(h.read(out_csv))
        h.check(got_tasks == tasks, "%s: csv task column %s, expected %s" % (label, got_tasks, tasks))
        vols = want["volumes"]
        # The CSV names volumes as the trace did.
        h.check([r[:5] for r in got] == [r[:5] for r in norm], "%s: csv rows differ:\n%s\n%s" % (label, got, norm))
        if tasks:
            h.check([r[5] for r in got] == [r[5] for r in norm], "%s: csv tasks differ" % label)
        again = dict(want, format="csv")
        check_summary(label + " csv re-import", inspect_json(out_csv), again)

        # --to fio-v3, then the real fio replays it against scratch files.
        out_fio = os.path.join(d, "conv-%d.iolog" % n)
        prefix = os.path.join(d, "vol%d-" % n)
        r = kr(["trace", "convert"] + extra + [path, "--to", "fio-v3", "--fio-file-prefix", prefix, out_fio])
        h.check(r.returncode == 0, "%s: convert --to fio-v3 exit %d: %s" % (label, r.returncode, r.stderr.decode()))
        fio_reqs, _ = read_fio(h.read(out_fio), 3)
        h.check([(q[2], q[3], q[4]) for q in fio_reqs] == [(q[2], q[3], q[4]) for q in norm],
                "%s: fio-v3 requests differ from the trace" % label)
        h.check([q[0] for q in fio_reqs] == [q[0] // 1000 * 1000 for q in norm],
                "%s: fio-v3 times are not the trace's, truncated to us" % label)
        h.check([q[1] for q in fio_reqs] == [prefix + str(vols.index(q[1])) for q in norm],
                "%s: fio-v3 file names are not PREFIX<volume index>" % label)
        for i, v in enumerate(vols):  # sparse files big enough for every request
            end = max([q[3] + q[4] for q in norm if q[1] == v] + [4096])
            with open(prefix + str(i), "wb") as f:
                f.truncate(end)
        fj = os.path.join(d, "fio-%d.json" % n)
        r = subprocess.run(["fio", "--name=replay", "--read_iolog=" + out_fio, "--ioengine=psync",
                            "--output-format=json", "--output=" + fj], capture_output=True, text=True, timeout=60,
                           cwd=d)
        h.check(r.returncode == 0, "%s: fio exit %d: %s %s" % (label, r.returncode, r.stdout, r.stderr))
        job = json.load(open(fj))["jobs"][0]
        h.check(job["error"] == 0, "%s: fio job error %s" % (label, job["error"]))
        for fio_key, key in (("read", "reads"), ("write", "writes"), ("sync", "flushes")):
            got_ios = job[fio_key]["total_ios"]
            h.check(got_ios == want[key], "%s: fio replayed %d %s IOs, the trace has %d" %
                    (label, got_ios, fio_key, want[key]))
        got_bytes = job["read"]["io_bytes"], job["write"]["io_bytes"]
        h.check(got_bytes == (want["bytes_read"], want["bytes_written"]),
                "%s: fio moved %s bytes (read, write), the trace %s" %
                (label, got_bytes, (want["bytes_read"], want["bytes_written"])))
        n += 1
    # convert reads stdin and writes stdout too.
    msr = fixture("msr.csv")
    r = kr(["trace", "convert", "-", "--to", "csv", "-"], stdin=msr.encode())
    h.check(r.returncode == 0, "convert - -: exit %d: %s" % (r.returncode, r.stderr.decode()))
    got, _ = read_kreplay_csv(r.stdout.decode())
    h.check([q[:5] for q in got] == [q[:5] for q in normalise(read_msr(msr)[0])], "convert via stdin/stdout differs")
    return n + 1


def test():
    d = h.workdir("blockcli")
    a = test_inspect(d)
    b = test_broken(d)
    c = test_convert(d)
    print("inspect cases %d, broken-file cases %d, convert+fio cases %d" % (a, b, c))


if __name__ == "__main__":
    h.main(test)
