#!/usr/bin/env python3
"""`plughost serve` under a flood: every pipelined request is answered
exactly once, in both framings, and when the in-flight cap is reached the
host stops reading stdin (backpressure) instead of buffering the flood."""

import json
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def req(method, params, id_):
    m = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        m["params"] = params
    return json.dumps(m).encode()


def lsp(body):
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def parse_lsp(out):
    msgs = []
    while out:
        end = out.index(b"\r\n\r\n")
        n = int(out[len(b"Content-Length: "):end])
        msgs.append(json.loads(out[end + 4:end + 4 + n]))
        out = out[end + 4 + n:]
    return msgs


def check_all_once(t, what, msgs, n):
    seen = {}
    for m in msgs:
        seen.setdefault(m.get("id"), []).append(m)
    bad = [i for i in range(n) if len(seen.get(i, [])) != 1 or seen[i][0].get("result") != [i]]
    t.check(len(msgs) == n and not bad, f"{what}: {n} answers, each request exactly once",
            f"{len(msgs)} answers; wrong for ids {bad[:10]}")


def flood(t, ph, d):
    n = 20000
    data = b"".join(req("echo.echo", [i], i) + b"\n" for i in range(n))
    t0 = time.monotonic()
    r = harness.run(ph, ["serve", d], stdin=data, timeout=120)
    t.check(r.rc == 0, f"line flood of {n}: exit 0 ({time.monotonic() - t0:.2f} s)",
            r.describe())
    check_all_once(t, "line flood", [json.loads(x) for x in r.out.splitlines()], n)

    data = b"".join(lsp(req("echo.echo", [i], i)) for i in range(n))
    t0 = time.monotonic()
    r = harness.run(ph, ["serve", d], stdin=data, timeout=120)
    t.check(r.rc == 0, f"LSP flood of {n}: exit 0 ({time.monotonic() - t0:.2f} s)",
            r.describe())
    check_all_once(t, "LSP flood", parse_lsp(r.out), n)

    n = 3000
    data = b"".join(req("echo.echo", [i], i) + b"\n" for i in range(n))
    r = harness.run(ph, ["--max-inflight", "1", "serve", d], stdin=data, timeout=120)
    t.check(r.rc == 0, "flood with --max-inflight 1: exit 0", r.describe())
    check_all_once(t, "flood with --max-inflight 1", [json.loads(x) for x in r.out.splitlines()],
                   n)

    batch = b"[" + b",".join(req("echo.echo", [i], i) for i in range(50)) + b"]\n"
    r = harness.run(ph, ["--max-inflight", "4", "serve", d], stdin=batch)
    out = json.loads(r.out) if r.out.strip() else None
    t.check(r.rc == 0 and isinstance(out, list), "batch of 50 over a cap of 4: one array",
            r.describe())
    check_all_once(t, "batch of 50 over a cap of 4", out or [], 50)


def backpressure(t, ph, d):
    """16 hung calls fill a cap of 16; 8 MB of echo requests follow. The
    host must leave them in the pipe until the hung calls time out."""
    cap, n, pad = 16, 20000, "p" * 400
    p = subprocess.Popen([ph, "--max-inflight", str(cap), "--timeout", "2500", "serve", d],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    written = [0]
    lines = []
    errbuf = []

    def writer():
        try:
            for i in range(cap):
                p.stdin.write(req("crashy.hang", None, f"h{i}") + b"\n")
            p.stdin.flush()
            for i in range(n):
                chunk = req("echo.echo", [i, pad], i) + b"\n"
                p.stdin.write(chunk)
                written[0] += len(chunk)
            p.stdin.close()
        except OSError:
            pass

    def reader():
        for ln in iter(p.stdout.readline, b""):
            lines.append(ln)

    threads = [threading.Thread(target=f, daemon=True) for f in (writer, reader)]
    threads.append(threading.Thread(target=lambda: errbuf.append(p.stderr.read()), daemon=True))
    for th in threads:
        th.start()
    try:
        time.sleep(1.5)
        stalled = written[0]
        answered = len(lines)
        t.check(stalled < 1 << 20,
                f"at the cap the host stops reading: {stalled} of {n * 430} bytes taken",
                f"written {stalled}")
        t.check(answered == 0, "no answer while every slot holds a hung call",
                b"".join(lines[:3]))
        try:
            rc = p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = None
        for th in threads:
            th.join(timeout=10)
        msgs = [json.loads(x) for x in lines]
        hung = [m for m in msgs if str(m.get("id")).startswith("h")]
        t.check(rc == 0, "after the timeouts the flood drains and serve exits 0",
                f"exit {rc}\n{(errbuf or [b''])[0][-2000:]!r}")
        t.check(len(hung) == cap and all("error" in m for m in hung),
                f"each of the {cap} hung calls fails once", hung[:3])
        echo = [m for m in msgs if not str(m.get("id")).startswith("h")]
        seen = {}
        for m in echo:
            seen.setdefault(m.get("id"), []).append(m)
        bad = [i for i in range(n) if len(seen.get(i, [])) != 1
               or seen[i][0].get("result") != [i, pad]]
        t.check(len(echo) == n and not bad,
                f"then all {n} queued echo calls are answered exactly once",
                f"{len(echo)} answers; wrong for {bad[:10]}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main():
    args = harness.parse_args(__doc__)
    t = harness.Checker("test_serve_flood")
    ph = args.plughost
    d = harness.plugin_dir(harness.echo_so(args))
    try:
        flood(t, ph, d)
    finally:
        harness.remove_dir(d)
    if args.crashy and os.path.exists(args.crashy):
        d = harness.plugin_dir(harness.echo_so(args), args.crashy)
        try:
            backpressure(t, ph, d)
        finally:
            harness.remove_dir(d)
    else:
        t.check(False, "crashy.so available", f"--crashy {args.crashy}")
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
