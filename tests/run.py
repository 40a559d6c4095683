#!/usr/bin/env python3
"""tests/run.py - hako's test runner (`make test`).

Runs the host unit tests (build/unit/test_*), the fuzz targets for
15 s each from their seed corpora (build/fuzz/fuzz_*, tests/fuzz.py), then
the integration tests (tests/integration, pytest) that boot the image in
QEMU and Bochs. Prints
each part's result and, last, one line `N passed, N failed`; exits
non-zero when anything failed.

    tests/run.py                 everything (about 20 minutes on 2 cores)
    tests/run.py --fast          skip the tests marked slow (long Linux and Bochs runs)
    tests/run.py --unit-only     only the unit tests
    tests/run.py -k EXPR         pass a pytest -k selection to the integration tests
                                 (the fuzz targets run only when EXPR names one)
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import fuzz

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(ROOT, "build")


def run_unit():
    passed = failed = 0
    bins = sorted(glob.glob(os.path.join(BUILD, "unit", "test_*")))
    if not bins:
        print("unit: no unit test binaries were built", flush=True)
        return 0, 1
    for b in bins:
        name = os.path.basename(b)
        p = subprocess.run([b], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        out = p.stdout.decode(errors="replace")
        m = re.search(r"^(\d+) passed, (\d+) failed", out, re.M)
        if m:
            np_, nf = int(m.group(1)), int(m.group(2))
        else:
            np_, nf = 0, 1
        if p.returncode != 0 and nf == 0:
            nf = 1  # a crash or sanitizer report after the summary still fails
        passed += np_
        failed += nf
        status = "ok" if nf == 0 else "FAILED"
        print("unit %-24s %4d passed, %d failed  %s" % (name, np_, nf, status), flush=True)
        if nf:
            print(out[-4000:])
    return passed, failed


def run_integration(fast, select):
    junit = os.path.join(BUILD, "pytest.xml")
    if os.path.exists(junit):
        os.remove(junit)
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfE", "-v",
            "--junitxml=" + junit, os.path.join(ROOT, "tests", "static"),
            os.path.join(ROOT, "tests", "integration")]
    if fast:
        argv += ["-m", "not slow"]
    if select:
        argv += ["-k", select]
    p = subprocess.run(argv, cwd=ROOT)
    if not os.path.exists(junit):
        print("integration: pytest did not run (exit %d)" % p.returncode)
        return 0, 1
    suite = ET.parse(junit).getroot()
    if suite.tag == "testsuites":
        suite = suite[0]
    total = int(suite.get("tests", 0))
    bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    if p.returncode not in (0, 1, 5) and bad == 0:
        bad = 1  # pytest itself failed (usage error, internal error)
    return total - bad - skipped, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unit-only", action="store_true")
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--slow", action="store_true", help="accepted for compatibility: the default runs everything")
    ap.add_argument("-k", dest="select")
    a = ap.parse_args()

    up, uf = run_unit()
    fp = ff = ip = if_ = 0
    if not a.unit_only:
        names = [n for n in (os.path.basename(b) for b in fuzz.targets())
                 if not a.select or n in a.select]
        if names:
            fp, ff = fuzz.run_fuzz(fuzz.FUZZ_TEST_SECONDS, names)
        elif not a.select:
            fp, ff = fuzz.run_fuzz(fuzz.FUZZ_TEST_SECONDS)  # none built: says so, fails
        ip, if_ = run_integration(a.fast, a.select)
        print("fuzz: %d passed, %d failed" % (fp, ff))
        print("integration: %d passed, %d failed" % (ip, if_))
    print("unit: %d passed, %d failed" % (up, uf))
    passed, failed = up + fp + ip, uf + ff + if_
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
