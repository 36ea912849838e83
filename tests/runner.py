"""Runs the whole suite: the C unit tests, then every tests/test_*.py module
against a private MariaDB (and the pool and web servers the modules start).
Ends with the line "N passed, N failed".

    tests/run [-k SUBSTRING] [-x] [--keep]
"""
import argparse
import glob
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Result:
    def __init__(self):
        self.passed = 0
        self.failed = []
        self.skipped = []
        self.prefix = ""        # "build-san: " on the sanitizer pass

    def ok(self, name, secs=None):
        self.passed += 1
        took = " (%.1fs)" % secs if secs is not None and secs >= 1 else ""
        print("ok   " + self.prefix + name + took, flush=True)

    def skip(self, name, why):
        self.skipped.append(self.prefix + name)
        print("skip " + self.prefix + name + ": " + why, flush=True)

    def fail(self, name, why):
        self.failed.append(self.prefix + name)
        print("FAIL " + self.prefix + name, flush=True)
        for line in why.rstrip().splitlines():
            print("     " + line, flush=True)


def run_unit(res, pattern):
    """Each cmocka binary reports its cases; count them one by one."""
    for path in sorted(glob.glob(os.path.join(harness.BUILD, "tests", "test_*"))):
        if path.endswith(".d") or not os.access(path, os.X_OK):
            continue
        name = "unit/" + os.path.basename(path)
        if pattern and pattern not in name:
            continue
        p = subprocess.run([path], capture_output=True, text=True, timeout=300)
        out = p.stdout + p.stderr
        cases = re.findall(r"^\[\s+(OK|FAILED)\s+\] (\S+)", out, re.M)
        for status, case in cases:
            if status == "OK":
                res.ok("%s:%s" % (name, case))
            else:
                res.fail("%s:%s" % (name, case), out[-3000:])
        if not cases or (p.returncode != 0 and all(s == "OK" for s, _ in cases)):
            res.fail(name, "exit status %d\n%s" % (p.returncode, out[-3000:]))


def run_fuzz(res, pattern, top):
    """A short libFuzzer run over the committed seeds (make fuzz: longer)."""
    binary = os.path.join(harness.ROOT, "build", "fuzz_request")
    name = "fuzz/fuzz_request"
    if (pattern and pattern not in name) or not os.access(binary, os.X_OK):
        return
    work = os.path.join(top, "fuzz-corpus")
    os.makedirs(work, exist_ok=True)
    secs = os.environ.get("FUZZ_CI_SECONDS", "30")
    p = subprocess.run([binary, "-max_total_time=" + secs, "-max_len=8192",
                        "-timeout=5", work,
                        os.path.join(harness.ROOT, "tests", "fuzz", "corpus")],
                       capture_output=True, text=True, timeout=int(secs) + 120)
    runs = re.findall(r"Done (\d+) runs", p.stderr)
    if p.returncode == 0 and runs:
        res.ok("%s (%s executions in %ss)" % (name, runs[-1], secs))
    else:
        res.fail(name, p.stderr[-3000:])


# Not "WARNING: AddressSanitizer failed to allocate": that is libfcgi's
# crafted-record abort (test_reliability) under allocator_may_return_null.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def check_sanitizer_logs(res, top):
    """make test-asan: any sanitizer report in any log fails the run."""
    found = []
    for dirpath, _, files in os.walk(top):
        for f in files:
            if not (f.endswith(".log") or f == "error_log"):
                continue
            path = os.path.join(dirpath, f)
            with open(path, errors="replace") as fh:
                text = fh.read()
            for mark in SANITIZER_MARKS:
                i = text.find(mark)
                if i >= 0:
                    found.append("%s: %s" % (path, text[i:i + 1500]))
                    break
    if found:
        res.fail("sanitizer reports", "\n".join(found))
    else:
        res.ok("sanitizer reports: none")


def load_module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def module_tests(mod):
    """test_* functions in file order, plus the module's own CASES list of
    (name, fn) pairs for table-driven tests."""
    tests = []
    for name, fn in vars(mod).items():
        if name.startswith("test_") and callable(fn):
            tests.append((name, fn))
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    for name, fn in getattr(mod, "CASES", []):
        tests.append((name, fn))
    return tests


def run_modules(res, env, pattern, stop_first):
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        mod = load_module(path)
        mname = os.path.basename(path)[:-3]
        selected = [(n, f) for n, f in module_tests(mod)
                    if not pattern or pattern in "%s.%s" % (mname, n)]
        if not selected:
            continue
        try:
            if hasattr(mod, "setup_module"):
                mod.setup_module(env)
        except harness.Skip as e:
            res.skip(mname, str(e))
            if hasattr(mod, "teardown_module"):
                mod.teardown_module(env)
            continue
        except Exception:
            res.fail(mname + ".setup_module", traceback.format_exc())
            continue
        try:
            for name, fn in selected:
                full = "%s.%s" % (mname, name)
                t0 = time.monotonic()
                try:
                    fn(env)
                    res.ok(full, time.monotonic() - t0)
                except Exception:
                    res.fail(full, traceback.format_exc(limit=6))
                    if stop_first:
                        return
        finally:
            if hasattr(mod, "teardown_module"):
                try:
                    mod.teardown_module(env)
                except Exception:
                    res.fail(mname + ".teardown_module", traceback.format_exc())


def run_pass(res, build, args, first):
    """The whole suite against one build (build/ or build-san/), on a
    MariaDB of its own."""
    harness.BUILD = os.path.join(harness.ROOT, build)
    sanitized = build.endswith("build-san")
    res.prefix = build + ": " if sanitized else ""
    if sanitized:
        # allocator_may_return_null: libfcgi's own abort on a crafted
        # record (test_reliability), not an ASan report, ends that worker.
        os.environ.setdefault("ASAN_OPTIONS",
                              "allocator_may_return_null=1:detect_leaks=1")
        os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    run_unit(res, args.pattern)
    env = harness.Env()
    try:
        if first:
            run_fuzz(res, args.pattern, env.top)
        env.db.start()
        env.db.load()
        run_modules(res, env, args.pattern, args.stop_first)
    except KeyboardInterrupt:
        res.fail("interrupted", "")
        raise
    except Exception:
        res.fail("harness", traceback.format_exc())
    finally:
        if sanitized:
            env.close(keep=True)
            check_sanitizer_logs(res, env.top)
        keep = args.keep or bool(res.failed)
        if keep:
            print("logs kept in " + env.top)
        env.close(keep=keep)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="pattern", default="")
    ap.add_argument("-x", dest="stop_first", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary folder (logs) after the run")
    ap.add_argument("--builds", default=os.environ.get("OPERATE_NODE_BUILD", "build"),
                    help="comma-separated builds to run the suite against, "
                         "e.g. build,build-san")
    args = ap.parse_args()

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)

    res = Result()
    t0 = time.monotonic()
    try:
        for i, build in enumerate(args.builds.split(",")):
            run_pass(res, build, args, i == 0)
    except KeyboardInterrupt:
        pass
    print("time %.1fs" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (res.passed, len(res.failed)) +
          (", %d skipped" % len(res.skipped) if res.skipped else ""))
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
