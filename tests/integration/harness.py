"""Process harness for kreplay integration tests.

Starts the real parts (embedded broker, controller, workers, Prometheus) as
separate processes on 127.0.0.1, records their PIDs and stops them by PID
(SIGTERM, then SIGKILL) when the test ends, whatever happens.
"""
import atexit
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

KREPLAY = os.environ.get("KREPLAY_BIN", "kreplay")
SOURCE_DIR = os.environ.get("KREPLAY_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

_children = []


def _cleanup():
    for p in _children:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 10
    for p in _children:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def workdir(name):
    d = tempfile.mkdtemp(prefix="kreplay-%s-" % name)
    return d


def spawn(args, log_path):
    log = open(log_path, "ab")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    _children.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=15):
    if p.poll() is not None:
        return p.returncode
    os.kill(p.pid, sig)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        return p.wait()


def wait_file(path, proc=None, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                s = f.read().strip()
            if s:
                return s
        if proc is not None and proc.poll() is not None:
            raise Fail("%s exited with %s before writing %s" % (proc.args, proc.returncode, path))
        time.sleep(0.05)
    raise Fail("timed out waiting for " + path)


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class Cluster:
    """An embedded broker, a controller and N workers, each its own process."""

    def __init__(self, name, workers=2, threads=1, work_partitions=16, controller_args=(), worker_args=()):
        self.dir = workdir(name)
        self.broker = spawn([KREPLAY, "broker", "--bootstrap-file", self.path("bootstrap"),
                             "--work-partitions", str(work_partitions)], self.path("broker.log"))
        self.bootstrap = wait_file(self.path("bootstrap"), self.broker)
        self.controller_args = list(controller_args)
        self.port = None
        self.controller = None
        self.start_controller()
        self.workers = []
        self.worker_args = list(worker_args)
        for i in range(workers):
            self.add_worker(threads)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start_controller(self, port=None):
        pf = self.path("controller.port")
        if os.path.exists(pf):
            os.remove(pf)
        listen = "127.0.0.1:%d" % (port or 0)
        mf = self.path("controller.metrics")
        if os.path.exists(mf):
            os.remove(mf)
        self.controller = spawn([KREPLAY, "controller", "--bootstrap-servers", self.bootstrap, "--listen", listen,
                                 "--data-dir", self.path("data"), "--port-file", pf, "--metrics-port-file", mf]
                                + self.controller_args, self.path("controller.log"))
        self.port = int(wait_file(pf, self.controller))
        self.controller.metrics_port = int(wait_file(mf, self.controller))
        return self.controller

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def add_worker(self, threads=1):
        i = len(self.workers)
        mp = self.path("worker%d.metrics" % i)
        p = spawn([KREPLAY, "worker", "--controller", self.address, "--bootstrap-servers", self.bootstrap,
                   "--threads", str(threads), "--id", "w%d" % i, "--metrics-port-file", mp,
                   "--session-timeout-ms", "6000"] + self.worker_args, self.path("worker%d.log" % i))
        p.metrics_port = int(wait_file(mp, p))
        self.workers.append(p)
        return p

    def submit(self, spec, out=None, wait=True, timeout=600, extra=()):
        args = [KREPLAY, "submit", spec, "--controller", self.address, "--progress", "plain"] + list(extra)
        if wait:
            args += ["--wait", "--out", out]
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        return r

    def db(self):
        return sqlite3.connect(self.path("data/kreplay.db"))

    def recorded(self):
        """Results committed in the controller's ledger."""
        return self.db().execute("select count(*) from results").fetchone()[0]

    def logs(self):
        out = []
        for f in sorted(os.listdir(self.dir)):
            if f.endswith(".log"):
                out.append("==== %s\n%s" % (f, tail(self.path(f))))
        return "\n".join(out)

    def close(self):
        for w in self.workers:
            stop(w)
        if self.controller:
            stop(self.controller)
        stop(self.broker)


def scrape(port):
    """A /metrics exposition as {metric name: sum over its label sets}."""
    import urllib.request
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name = line.split("{")[0].split()[0]
        out[name] = out.get(name, 0.0) + float(line.split()[-1])
    return out


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prometheus(d, targets):
    """Starts a real Prometheus (Debian) on 127.0.0.1 scraping `targets`
    every second; returns (process, base URL)."""
    port = free_port()
    cfg = os.path.join(d, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: kreplay-workers\n"
                "    static_configs:\n      - targets: [%s]\n" % ", ".join("'%s'" % t for t in targets))
    p = spawn(["prometheus", "--config.file=" + cfg, "--web.listen-address=127.0.0.1:%d" % port,
               "--storage.tsdb.path=" + os.path.join(d, "tsdb")], os.path.join(d, "prometheus.log"))
    return p, "http://127.0.0.1:%d" % port


def prometheus_query(base, query, timeout=30, want=None):
    """Polls an instant query until it returns a value (equal to `want` if
    given); a new target's first sample takes ~6 s (PLATFORM.md)."""
    import json
    import urllib.parse
    import urllib.request
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            url = base + "/api/v1/query?query=" + urllib.parse.quote(query)
            r = json.load(urllib.request.urlopen(url, timeout=5))
            res = r["data"]["result"]
            if res:
                last = float(res[0]["value"][1])
                if want is None or last == want:
                    return last
        except OSError:
            pass
        time.sleep(0.5)
    return last


def run_local(spec, out, timeout=600):
    r = subprocess.run([KREPLAY, "run", spec, "--local", "--out", out, "--quiet"], capture_output=True, text=True,
                       timeout=timeout)
    check(r.returncode == 0, "local run failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
    return r


def read(path):
    with open(path) as f:
        return f.read()


def write(path, data):
    """Writes `data` (text or bytes) to `path`, making its directory."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def line_of(text, needle):
    """1-based number of the first line of `text` containing `needle`."""
    for i, line in enumerate(text.split("\n"), 1):
        if needle in line:
            return i
    raise Fail("%r not in %r..." % (needle, text[:200]))


def kreplay(args, timeout=180, **kw):
    """Runs the kreplay binary under test, capturing its output as text."""
    return subprocess.run([KREPLAY] + args, capture_output=True, text=True, timeout=timeout, **kw)


def main(test):
    """Runs `test()`; prints a plain summary line ctest can read."""
    t0 = time.time()
    try:
        test()
    except Fail as e:
        print("FAIL: %s" % e)
        print("0 passed, 1 failed")
        sys.exit(1)
    print("ok (%.1fs)" % (time.time() - t0))
    print("1 passed, 0 failed")
