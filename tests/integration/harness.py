"""Shared pieces of the integration scripts: arguments, checks, and running
plughost with a hard timeout so that a hung host fails a test instead of
hanging CI."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 30  # seconds, for every plughost run


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--plughost", required=True, help="the plughost executable")
    ap.add_argument("--plugins", required=True, help="directory holding echo.so")
    ap.add_argument("--crashy", help="crashy.so (tests/integration/plugins)")
    return ap.parse_args()


class Checker:
    """Counts checks; each prints one line so a CI log reads as a list."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}")
            if detail:
                for line in str(detail).splitlines()[:40]:
                    print(f"     {line[:400]}")
        sys.stdout.flush()
        return ok

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


class Result:
    def __init__(self, rc, out, err, timed_out=False):
        self.rc = rc
        self.out = out
        self.err = err
        self.timed_out = timed_out

    def last_error(self):
        """The JSON object on stderr's last 'error: ' line, or None."""
        lines = self.err.decode("utf-8", "replace").rstrip("\n").split("\n")
        if not lines or not lines[-1].startswith("error: "):
            return None
        try:
            return json.loads(lines[-1][len("error: "):])
        except ValueError:
            return None

    def describe(self):
        return (f"exit {self.rc}{' (timed out)' if self.timed_out else ''}\n"
                f"stdout: {self.out[:2000]!r}\nstderr: {self.err[-3000:]!r}")


def run(plughost, args, stdin=b"", timeout=TIMEOUT):
    try:
        p = subprocess.run([plughost] + list(args), input=stdin, capture_output=True,
                           timeout=timeout)
        return Result(p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired as e:
        return Result(None, e.stdout or b"", e.stderr or b"", timed_out=True)


def plugin_dir(*files):
    """A temporary directory with copies of the given plugin files, so a test
    sees exactly the plugins it chose."""
    d = tempfile.mkdtemp(prefix="plughost-it-")
    for f in files:
        shutil.copy(f, d)
    return d


def remove_dir(d):
    shutil.rmtree(d, ignore_errors=True)


def echo_so(args):
    return os.path.join(args.plugins, "echo.so")
