"""Shared pieces of the integration scripts: arguments, checks, and running
plughost with a hard timeout so that a hung host fails a test instead of
hanging CI."""

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 30  # seconds, for every plughost run


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--plughost", required=True, help="the plughost executable")
    ap.add_argument("--plugins", required=True, help="directory holding echo.so")
    ap.add_argument("--crashy", help="crashy.so (tests/integration/plugins)")
    ap.add_argument("--variants", help="echo_v2.so, echo_v3.so (tests/integration/plugins)")
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


def children(pid):
    """Pids whose parent is pid, from /proc (a host's plugins are its direct
    children)."""
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(e))
        except (OSError, IndexError, ValueError):
            pass
    return out


def remove_dir(d):
    shutil.rmtree(d, ignore_errors=True)


def echo_so(args):
    return os.path.join(args.plugins, "echo.so")


class Session:
    """An interactive serve process: send a line, wait for answers."""

    def __init__(self, ph, path, opts=()):
        self.p = subprocess.Popen([ph] + list(opts) + ["serve", path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.q = queue.Queue()
        self.err = []
        threading.Thread(target=self._read, args=(self.p.stdout, self.q.put, True),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.p.stderr, self.err.append, False),
                         daemon=True).start()

    @staticmethod
    def _read(f, sink, mark_eof):
        for ln in iter(f.readline, b""):
            sink(ln)
        if mark_eof:
            sink(None)  # wakes a recv() waiting on a dead process

    def send(self, msg):
        self.p.stdin.write((msg if isinstance(msg, str) else json.dumps(msg)).encode() + b"\n")
        self.p.stdin.flush()

    def recv(self, timeout=TIMEOUT):
        try:
            ln = self.q.get(timeout=timeout)
        except queue.Empty:
            return None
        if ln is None:
            return None
        try:
            return json.loads(ln)
        except ValueError:
            return {"unparsable line": ln.decode("utf-8", "replace")}

    def call(self, msg, timeout=TIMEOUT):
        self.send(msg)
        return self.recv(timeout)

    def close(self):
        """Closes stdin; returns the exit status (None if it did not exit)."""
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            return self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def stderr(self):
        return b"".join(self.err).decode("utf-8", "replace")

    def wait(self, timeout=TIMEOUT):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_stderr(self, text, timeout=10):
        end = time.monotonic() + timeout
        while text not in self.stderr() and time.monotonic() < end:
            time.sleep(0.02)
        return text in self.stderr()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
