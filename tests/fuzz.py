#!/usr/bin/env python3
"""tests/fuzz.py - runs the libFuzzer targets (build/fuzz/fuzz_*) for a
bounded time each, starting from the seed corpus in the repository.

`make test` runs each for FUZZ_TEST_SECONDS (tests/run.py imports this);
`make fuzz` runs them longer (--seconds, default 300 each). Inputs the
fuzzer finds go to build/fuzz/work/NAME/ (kept between runs on one machine,
never into the repository's tests/unit/data/corpus_NAME/). A crash, a
sanitizer report, a timeout or an abort() of a target's own checks fails
the run; the input is saved as build/fuzz/crashes/NAME-crash-... and the
log's tail printed. Reproduce with `build/fuzz/NAME FILE`.

    tests/fuzz.py [--seconds N] [NAME ...]
"""
import argparse
import glob
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(ROOT, "build")
CORPORA = os.path.join(ROOT, "tests", "unit", "data")
FUZZ_TEST_SECONDS = 15
PER_INPUT_TIMEOUT = 10  # seconds one input may take before it counts as a hang


def targets(names=None):
    bins = sorted(glob.glob(os.path.join(BUILD, "fuzz", "fuzz_*")))
    bins = [b for b in bins if os.access(b, os.X_OK) and os.path.isfile(b)]
    if names:
        bins = [b for b in bins if os.path.basename(b) in names]
    return bins


def run_one(binary, seconds):
    """(ok, log tail) for one target run for `seconds`."""
    name = os.path.basename(binary)
    work = os.path.join(BUILD, "fuzz", "work", name)
    crashes = os.path.join(BUILD, "fuzz", "crashes")
    os.makedirs(work, exist_ok=True)
    os.makedirs(crashes, exist_ok=True)
    argv = [binary, "-max_total_time=%d" % seconds, "-timeout=%d" % PER_INPUT_TIMEOUT,
            "-rss_limit_mb=2048", "-print_final_stats=1",
            "-artifact_prefix=%s/%s-" % (crashes, name), work]
    seeds = os.path.join(CORPORA, "corpus_" + name[len("fuzz_"):])
    if os.path.isdir(seeds):
        argv.append(seeds)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=seconds + 120)
    out = p.stdout.decode(errors="replace")
    return p.returncode == 0, out


def run_fuzz(seconds=FUZZ_TEST_SECONDS, names=None):
    """Runs every built target; prints one line each; returns (passed, failed)."""
    bins = targets(names)
    if not bins:
        print("fuzz: no fuzz targets were built (make fuzz-build; needs clang)", flush=True)
        return 0, 1
    passed = failed = 0
    for b in bins:
        ok, out = run_one(b, seconds)
        runs = [l for l in out.splitlines() if l.startswith("stat::number_of_executed_units")]
        n = runs[-1].split(":")[-1].strip() if runs else "?"
        print("fuzz %-24s %3d s, %s inputs  %s" % (os.path.basename(b), seconds, n,
                                                  "ok" if ok else "FAILED"), flush=True)
        if ok:
            passed += 1
        else:
            failed += 1
            print(out[-6000:])
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    passed, failed = run_fuzz(a.seconds, a.names)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
