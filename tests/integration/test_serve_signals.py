#!/usr/bin/env python3
"""Graceful shutdown of `plughost serve`: on SIGTERM or SIGINT it stops
reading stdin, lets the calls in flight finish (or time out), stops its
plugins and exits 0; a second signal cancels what is still running."""

import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


Session = harness.Session


def req(method, params, id_):
    m = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        m["params"] = params
    return m


def alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def slow_call_finishes(t, ph, d, sig):
    name = signal.Signals(sig).name
    s = Session(ph, d)
    try:
        s.send(req("greeter.slow", {"n": 150}, 1))  # 1.5 s, with progress
        first = s.recv()
        t.check(isinstance(first, dict) and first.get("method") == "$/progress",
                f"{name}: the slow call is running (first progress seen)", first)
        kids = harness.children(s.p.pid)
        t.check(len(kids) >= 1, f"{name}: plugin processes found ({kids})", kids)
        t0 = time.monotonic()
        s.p.send_signal(sig)
        t.check(s.wait_stderr("stopping"), f"{name}: serve says it is stopping", s.stderr())
        # Read no more: this request must never be answered.
        try:
            s.send(req("echo.echo", ["too late"], 2))
        except OSError:
            pass
        answers = []
        while True:
            m = s.recv()
            if m is None:
                break
            if "id" in m:
                answers.append(m)
        rc = s.wait()
        took = time.monotonic() - t0
        t.check(len(answers) == 1 and answers[0].get("id") == 1
                and answers[0].get("result") == 150,
                f"{name}: the call in flight is answered with its result", answers)
        t.check(rc == 0, f"{name}: exit 0 ({took:.2f} s after the signal)",
                f"exit {rc}\n{s.stderr()}")
        t.check(took < 15, f"{name}: shutdown bounded", f"{took:.2f} s")
        left = [k for k in kids if alive(k)]
        t.check(not left, f"{name}: no plugin process left", left)
    finally:
        s.kill()


def hung_call_times_out(t, ph, d):
    s = Session(ph, d, ["--timeout", "1500"])
    try:
        s.send(req("crashy.ok", None, 0))
        t.check((s.recv() or {}).get("result") == "ok", "crashy is up")
        kids = harness.children(s.p.pid)
        s.send(req("crashy.hang", None, 1))
        time.sleep(0.2)
        t0 = time.monotonic()
        s.p.send_signal(signal.SIGTERM)
        r = s.recv()
        rc = s.wait()
        took = time.monotonic() - t0
        t.check(isinstance(r, dict) and r.get("id") == 1
                and r.get("error", {}).get("code") == -32001,
                "SIGTERM with a hung call: it fails with its timeout (-32001)", r)
        t.check(rc == 0 and took < 10, f"exit 0 once the timeout fired ({took:.2f} s)",
                f"exit {rc}\n{s.stderr()}")
        left = [k for k in kids if alive(k)]
        t.check(not left, "no plugin process left after the timeout", left)
    finally:
        s.kill()


def second_signal_cancels(t, ph, d):
    s = Session(ph, d, ["--timeout", "60000"])
    try:
        s.send(req("crashy.ok", None, 0))
        s.recv()
        kids = harness.children(s.p.pid)
        s.send(req("crashy.hang", None, "h"))
        time.sleep(0.2)
        s.p.send_signal(signal.SIGTERM)
        t.check(s.wait_stderr("stopping:"), "first SIGTERM: stopping", s.stderr())
        time.sleep(0.2)
        t.check(s.p.poll() is None, "first SIGTERM: still waiting for the hung call")
        t0 = time.monotonic()
        s.p.send_signal(signal.SIGTERM)
        r = s.recv()
        t.check(isinstance(r, dict) and r.get("id") == "h"
                and r.get("error", {}).get("code") == -32800,
                "second SIGTERM: the hung call is cancelled (-32800)", r)
        rc = s.wait()
        took = time.monotonic() - t0
        t.check(rc == 0 and took < 10, f"second SIGTERM: exit 0 in {took:.2f} s",
                f"exit {rc}\n{s.stderr()}")
        left = [k for k in kids if alive(k)]
        t.check(not left, "no plugin process left after the cancel", left)
    finally:
        s.kill()


def idle(t, ph, d):
    s = Session(ph, d)
    try:
        s.send(req("echo.echo", [1], 1))
        t.check((s.recv() or {}).get("result") == [1], "idle: a call answered first")
        kids = harness.children(s.p.pid)
        # Half a message is pending when the signal comes: dropped, no answer.
        s.p.stdin.write(b'{"jsonrpc":"2.0","id":2,"meth')
        s.p.stdin.flush()
        time.sleep(0.1)
        t0 = time.monotonic()
        s.p.send_signal(signal.SIGINT)
        rc = s.wait()
        t.check(rc == 0 and time.monotonic() - t0 < 5, "idle: SIGINT exits 0 promptly",
                f"exit {rc}\n{s.stderr()}")
        t.check(s.recv(1) is None, "idle: the half message got no answer")
        t.check(not [k for k in kids if alive(k)], "idle: no plugin process left")
    finally:
        s.kill()


def buffered_before_signal(t, ph, d):
    """Complete requests read before the signal but held back by the
    in-flight cap are answered (with an error), never dropped."""
    s = Session(ph, d, ["--max-inflight", "1"])
    try:
        # One write, so all four are read together: the slow call takes the
        # only slot and the three echo calls wait in the session's buffer.
        lines = [req("greeter.slow", {"n": 100}, "slow")] + [req("echo.echo", [i], i)
                                                           for i in range(3)]
        s.p.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in lines))
        s.p.stdin.flush()
        first = s.recv()
        t.check(isinstance(first, dict) and first.get("method") == "$/progress",
                "cap 1: the slow call is running", first)
        s.p.send_signal(signal.SIGTERM)
        got = {}
        while True:
            m = s.recv()
            if m is None:
                break
            if "id" in m:
                got.setdefault(json.dumps(m["id"]), []).append(m)
        rc = s.wait()
        t.check(rc == 0, "cap 1 + SIGTERM: exit 0", f"exit {rc}\n{s.stderr()}")
        t.check(len(got.get('"slow"', [])) == 1 and got['"slow"'][0].get("result") == 100,
                "cap 1 + SIGTERM: the running call finishes", got)
        held = [got.get(str(i), []) for i in range(3)]
        t.check(all(len(h) == 1 and h[0].get("error", {}).get("code") == -32603
                    and "shutting down" in h[0]["error"].get("message", "") for h in held),
                "cap 1 + SIGTERM: each request held back is answered once, -32603 "
                "server shutting down", got)
    finally:
        s.kill()


def main():
    args = harness.parse_args(__doc__)
    t = harness.Checker("test_serve_signals")
    ph = args.plughost
    files = [harness.echo_so(args), os.path.join(args.plugins, "greeter.so")]
    if args.crashy:
        files.append(args.crashy)
    d = harness.plugin_dir(*files)
    try:
        slow_call_finishes(t, ph, d, signal.SIGTERM)
        slow_call_finishes(t, ph, d, signal.SIGINT)
        hung_call_times_out(t, ph, d)
        second_signal_cancels(t, ph, d)
        idle(t, ph, d)
        buffered_before_signal(t, ph, d)
    finally:
        harness.remove_dir(d)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
