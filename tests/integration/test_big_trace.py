"""A workload trace of more than 100 MiB goes through the embedded broker
(which keeps only ~5 MiB per partition) to 2 workers whole: the results
equal the in-process run, and the workers read at least the whole trace."""
import glob
import os

import harness as h

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs", "big.yaml")


def test():
    local = h.workdir("big-local")
    h.run_local(SPEC, local)
    c = h.Cluster("big", workers=2)
    try:
        out = os.path.join(c.dir, "out")
        r = c.submit(SPEC, out)
        h.check(r.returncode == 0, "submit failed (%d): %s\n%s" % (r.returncode, r.stderr[-3000:], c.logs()))
        chunks = glob.glob(os.path.join(c.dir, "data", "traces", "*.chunks"))
        h.check(len(chunks) == 1, "expected one stored trace, found %d" % len(chunks))
        size = os.path.getsize(chunks[0])
        h.check(size > 100 * 2**20, "trace is only %d bytes; the test needs > 100 MiB" % size)
        h.check(h.read(os.path.join(local, "results.csv")) == h.read(os.path.join(out, "results.csv")),
                "results differ from the in-process run")
        read = sum(h.scrape(w.metrics_port).get("kreplay_worker_trace_read_bytes_total", 0) for w in c.workers)
        h.check(read >= size * 0.95, "workers read %d trace bytes, trace has %d" % (read, size))
        print("trace %.1f MiB, workers read %.1f MiB" % (size / 2**20, read / 2**20))
    finally:
        c.close()


if __name__ == "__main__":
    h.main(test)
