#!/usr/bin/env python3
"""The shape of `plughost serve`'s loop, as system calls per call in the
host: one client request at a time (write, wait for the answer), counted by
strace on the host process alone (not its plugins). A bare two-hop relay
needs four (read the line, send it, receive the answer, write it); an event
loop adds one wait per direction, so a call may cost at most six, with no
poll around the host's wait and no epoll_wait with a zero timeout. The
count per call is the difference between two runs of different lengths,
so start-up and shut-down cancel out. Skipped (77) without strace."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

RELAY = 4  # read, send, receive, write
MARGIN = 2  # the event loop's wait before each read and each receive
CALL = re.compile(r"^(?:\[pid\s+\d+\]\s+)?(\w+)\(")
ZERO_WAIT = re.compile(r"^epoll_p?wait\(\d+, .*, \d+, 0\)")


def frame(body, lsp):
    return b"Content-Length: %d\r\n\r\n" % len(body) + body if lsp else body + b"\n"


def read_answer(f, lsp):
    if not lsp:
        return json.loads(f.readline())
    n = None
    while True:
        line = f.readline()
        if not line:
            raise EOFError("no answer")
        if line in (b"\r\n", b"\n"):
            break
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    return json.loads(f.read(n))


def traced_run(ph, plugin, calls, lsp, trace):
    """Runs serve under strace for `calls` one-at-a-time calls; returns
    ({syscall: count}, zero-timeout waits, wrong answers)."""
    cmd = ["strace", "-qq", "-o", trace, ph, "serve",
           "--framing=" + ("lsp" if lsp else "line"), plugin]
    # LeakSanitizer cannot run under ptrace and then fails the exit status
    # of a sanitizer build; the sanitizer pass checks leaks everywhere else.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS", ""), "detect_leaks=0") if x)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    wrong = 0
    try:
        for i in range(calls):
            body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "echo.echo",
                               "params": ["syscalls", i]}).encode()
            p.stdin.write(frame(body, lsp))
            p.stdin.flush()
            a = read_answer(p.stdout, lsp)
            if a.get("id") != i or a.get("result") != ["syscalls", i]:
                wrong += 1
        p.stdin.close()
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    counts, zero = {}, 0
    with open(trace, errors="replace") as f:
        for line in f:
            m = CALL.match(line)
            if not m:
                continue
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
            if ZERO_WAIT.match(line):
                zero += 1
    return counts, zero, wrong, p.returncode


def main():
    args = harness.parse_args(__doc__)
    t = harness.Checker("test_serve_syscalls")
    if not shutil.which("strace"):
        print("skipped: no strace (.ci/install-deps installs it)")
        return 77
    plugin = os.path.join(args.plugins, "echo.so")
    short, long_ = 50, 450
    with tempfile.TemporaryDirectory() as d:
        for lsp in (False, True):
            name = "LSP" if lsp else "line"
            a, za, wa, ra = traced_run(args.plughost, plugin, short, lsp, os.path.join(d, "a"))
            b, zb, wb, rb = traced_run(args.plughost, plugin, long_, lsp, os.path.join(d, "b"))
            t.check(wa == 0 and wb == 0 and ra == 0 and rb == 0,
                    f"{name}: every answer right, serve exits 0",
                    f"wrong {wa}+{wb}, exit {ra} {rb}")
            n = long_ - short
            per = {k: (b.get(k, 0) - a.get(k, 0)) / n for k in set(a) | set(b)}
            per = {k: v for k, v in per.items() if abs(v) >= 0.02}
            total = sum(per.values())
            shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items()))
            t.check(total <= RELAY + MARGIN + 0.05,
                    f"{name}: {total:.2f} system calls per call in the host "
                    f"(at most {RELAY} + {MARGIN}): {shown}", shown)
            polls = sum(v for k, v in per.items() if k in ("poll", "ppoll", "select", "pselect6"))
            t.check(polls < 0.02, f"{name}: no poll around the host's wait ({polls:.2f} per call)",
                    shown)
            t.check((zb - za) / n < 0.02,
                    f"{name}: no zero-timeout epoll_wait ({(zb - za) / n:.2f} per call)", shown)
            t.check(per.get("epoll_wait", 0) <= 2.05,
                    f"{name}: at most one wait per direction "
                    f"({per.get('epoll_wait', 0):.2f} epoll_wait per call)", shown)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
