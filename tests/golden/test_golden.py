"""Golden: the example study's numbers (every run's scalars and the
aggregates over seeds) are pinned. A model change that moves any number must
bump the model's version and regenerate the files on purpose:

    KREPLAY_UPDATE_GOLDEN=1 ctest -R golden      (then review the diff)
"""
import difflib
import os
import subprocess
import sys
import tempfile

KREPLAY = os.environ.get("KREPLAY_BIN", "kreplay")
ROOT = os.environ.get("KREPLAY_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))
STUDY = "biglittle-cfs-vs-hmp"


def main():
    out = tempfile.mkdtemp(prefix="kreplay-golden-")
    r = subprocess.run([KREPLAY, "run", os.path.join(ROOT, "examples", STUDY + ".yaml"), "--local", "--out", out,
                        "--quiet"], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        print("FAIL: example study failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
        print("0 passed, 1 failed")
        return 1
    failed = 0
    for name in ("results.csv", "aggregates.csv"):
        golden = os.path.join(HERE, "%s.%s" % (STUDY, name))
        got = open(os.path.join(out, name)).read()
        if os.environ.get("KREPLAY_UPDATE_GOLDEN") == "1":
            with open(golden, "w") as f:
                f.write(got)
            print("updated %s" % golden)
            continue
        want = open(golden).read() if os.path.exists(golden) else ""
        if got != want:
            failed += 1
            diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "golden/" + name, "now/" + name, lineterm="", n=0)
            print("FAIL: %s differs from the golden file:" % name)
            print("\n".join(list(diff)[:40]))
    print("%d passed, %d failed" % (2 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
