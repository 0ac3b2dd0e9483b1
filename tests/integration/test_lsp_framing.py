#!/usr/bin/env python3
"""`plughost serve` with the Language Server Protocol's base-protocol framing
(Content-Length headers): detection, explicit --framing, frames split across
writes and many frames in one write, batches, progress, and every kind of
malformed header, each followed by a good frame that must still be answered."""

import json
import os
import queue
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def frame(body, extra_headers=b""):
    if isinstance(body, str):
        body = body.encode()
    return b"Content-Length: %d\r\n" % len(body) + extra_headers + b"\r\n" + body


def req(method, params=None, id_=None, notify=False):
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    if not notify:
        m["id"] = id_
    return json.dumps(m, ensure_ascii=False)


class Frames:
    """Strict decoder of the server's output: every message must be exactly
    'Content-Length: N\\r\\n\\r\\n' and N bytes of JSON."""

    def __init__(self):
        self.buf = b""
        self.bad = []

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buf[:end]
            if not head.startswith(b"Content-Length: ") or not head[16:].isdigit():
                self.bad.append(self.buf[:200])
                self.buf = b""
                break
            n = int(head[16:])
            if len(self.buf) < end + 4 + n:
                break
            body = self.buf[end + 4:end + 4 + n]
            self.buf = self.buf[end + 4 + n:]
            try:
                out.append(json.loads(body.decode("utf-8")))
            except ValueError:
                self.bad.append(body[:200])
        return out


def serve_lsp(ph, path, data, opts=()):
    r = harness.run(ph, list(opts) + ["serve", path], stdin=data)
    f = Frames()
    msgs = f.feed(r.out)
    if f.buf:
        f.bad.append(b"trailing: " + f.buf[:200])
    return r, msgs, f.bad


def is_error(resp, code, id_=None):
    return (isinstance(resp, dict) and resp.get("jsonrpc") == "2.0" and resp.get("id") == id_
            and isinstance(resp.get("error"), dict) and resp["error"].get("code") == code)


def is_result(resp, result, id_):
    return (isinstance(resp, dict) and resp.get("jsonrpc") == "2.0" and resp.get("id") == id_
            and type(resp.get("id")) is type(id_) and resp.get("result") == result)


class LspSession:
    """An interactive serve process speaking LSP framing."""

    def __init__(self, ph, path, opts=()):
        self.p = subprocess.Popen([ph] + list(opts) + ["serve", path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self.q = queue.Queue()
        self.frames = Frames()
        self.err = []
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self):
        while True:
            data = self.p.stdout.read1(65536) if hasattr(self.p.stdout, "read1") else \
                os.read(self.p.stdout.fileno(), 65536)
            if not data:
                break
            for m in self.frames.feed(data):
                self.q.put(m)
        self.q.put(None)

    def _err(self):
        for ln in iter(self.p.stderr.readline, b""):
            self.err.append(ln)

    def write(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def recv(self, timeout=harness.TIMEOUT):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            return self.p.wait(timeout=harness.TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def stderr(self):
        return b"".join(self.err).decode("utf-8", "replace")


def basics(t, ph, d):
    r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [1, "x"], 1)))
    t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_result(msgs[0], [1, "x"], 1),
            "auto: a Content-Length frame is detected and answered in a frame", r.describe())

    r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [2], 2)), ["--framing=lsp"])
    t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_result(msgs[0], [2], 2),
            "--framing=lsp", r.describe())
    r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [2], 2)), ["--framing", "lsp"])
    t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_result(msgs[0], [2], 2),
            "--framing lsp (separate argument)", r.describe())

    r = harness.run(ph, ["--framing=line", "serve", d],
                    stdin=(req("echo.echo", [3], 3) + "\n").encode())
    t.check(r.rc == 0 and r.out.endswith(b"\n") and b"Content-Length" not in r.out
            and is_result(json.loads(r.out), [3], 3), "--framing=line: one message a line",
            r.describe())
    r = harness.run(ph, ["serve", d], stdin=(req("echo.echo", [4], 4) + "\n").encode())
    t.check(r.rc == 0 and b"Content-Length" not in r.out and is_result(json.loads(r.out), [4], 4),
            "auto: a JSON line selects line framing", r.describe())

    r = harness.run(ph, ["--framing=xml", "serve", d], stdin=b"")
    t.check(r.rc == 2 and b"--framing" in r.err, "--framing=xml: usage error, exit 2",
            r.describe())

    r = harness.run(ph, ["--framing=line", "serve", d], stdin=frame(req("echo.echo", [5], 5)))
    t.check(r.rc == 0 and b"Content-Length" not in r.out and b"-32700" in r.out,
            "--framing=line refuses a Content-Length frame as JSON (-32700 lines)", r.describe())

    r, msgs, bad = serve_lsp(ph, d, b"\r\n\n  " + frame(req("echo.echo", [6], 6)))
    t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_result(msgs[0], [6], 6),
            "auto: blank bytes before the first header are skipped", r.describe())

    r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [7], 7)).replace(
        b"Content-Length", b"cOnTeNt-LeNgTh"))
    t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_result(msgs[0], [7], 7),
            "header names are case-insensitive", r.describe())

    for ct in (b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n",
               b"Content-Type: application/vscode-jsonrpc; charset=utf8\r\n",
               b"Content-Type: application/json\r\n", b"X-Whatever: 1\r\n"):
        r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [8], 8), ct))
        t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_result(msgs[0], [8], 8),
                f"accepted header {ct.strip().decode()!r}", r.describe())
    r, msgs, bad = serve_lsp(ph, d, b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
                             + frame(req("echo.echo", [9], 9))[0:])
    t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_result(msgs[0], [9], 9),
            "auto: Content-Type before Content-Length is detected too", r.describe())

    # Content-Length counts bytes, not characters, in both directions.
    text = "\u00e9\u4e2d\U0001f600"
    r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [text], 10)))
    t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_result(msgs[0], [text], 10),
            "multi-byte UTF-8: lengths in bytes both ways", r.describe())

    batch = "[" + ",".join([req("echo.echo", [1], "a"), req("echo.echo", [2], notify=True),
                            req("nosuch.x", None, "b"), "3"]) + "]"
    r, msgs, bad = serve_lsp(ph, d, frame(batch))
    ok = (r.rc == 0 and not bad and len(msgs) == 1 and isinstance(msgs[0], list)
          and len(msgs[0]) == 3)
    if ok:
        by = {json.dumps(x.get("id")): x for x in msgs[0]}
        ok = (is_result(by.get('"a"'), [1], "a") and is_error(by.get('"b"'), -32601, "b")
              and is_error(by.get("null"), -32600))
    t.check(ok, "batch in one frame: one framed array of three answers", r.describe())

    r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [1], notify=True)))
    t.check(r.rc == 0 and not bad and msgs == [], "notification: no frame back", r.describe())


def many_in_one_write(t, ph, d):
    n = 500
    data = b"".join(frame(req("echo.echo", {"i": i, "pad": "y" * (i * 13 % 700)}, i))
                    for i in range(n))
    r, msgs, bad = serve_lsp(ph, d, data)
    ids = sorted(m.get("id") for m in msgs if isinstance(m, dict))
    t.check(r.rc == 0 and not bad and ids == list(range(n))
            and all(m.get("result", {}).get("i") == m.get("id") for m in msgs),
            f"{n} frames in one write: each answered once, in frames", r.describe())


def split_writes(t, ph, d):
    s = LspSession(ph, d)
    try:
        # Every byte alone, across a header, its blank line and a body.
        data = frame(req("echo.echo", ["bytewise"], 1))
        for i in range(len(data)):
            s.write(data[i:i + 1])
            if i % 7 == 0:
                time.sleep(0.002)
        r = s.recv()
        t.check(is_result(r, ["bytewise"], 1), "a frame written one byte at a time", r)

        # Chunks that each end inside the next frame: split headers, split
        # "\r\n\r\n", split bodies, and several frames in one chunk.
        n = 60
        stream = b"".join(frame(req("echo.echo", [i], 100 + i)) for i in range(n))
        cuts = [0]
        step = 1
        while cuts[-1] < len(stream):
            cuts.append(min(len(stream), cuts[-1] + step))
            step = step * 3 % 97 + 1
        for a, b in zip(cuts, cuts[1:]):
            s.write(stream[a:b])
        got = [s.recv() for _ in range(n)]
        ok = sorted((m or {}).get("id", -1) for m in got) == list(range(100, 100 + n))
        t.check(ok and all(is_result(m, [m["id"] - 100], m["id"]) for m in got),
                f"{n} frames in {len(cuts) - 1} writes cut at arbitrary points", got[:3])

        # The boundary right between "\r\n" and "\r\n".
        data = frame(req("echo.echo", ["crlf"], 2))
        k = data.index(b"\r\n\r\n") + 2
        s.write(data[:k])
        time.sleep(0.05)
        s.write(data[k:])
        r = s.recv()
        t.check(is_result(r, ["crlf"], 2), "a write ending between the two CRLFs", r)
        t.check(not s.frames.bad, "every answer was a well-formed frame", s.frames.bad[:3])
        rc = s.close()
        t.check(rc == 0, "exit 0 at EOF", f"exit {rc}\n{s.stderr()}")
    finally:
        if s.p.poll() is None:
            s.p.kill()


def progress(t, ph, d):
    r, msgs, bad = serve_lsp(ph, d, frame(req("greeter.slow", {"n": 5}, "p")))
    prog = [m for m in msgs if m.get("method") == "$/progress"]
    res = [m for m in msgs if "id" in m]
    t.check(r.rc == 0 and not bad and len(res) == 1 and is_result(res[0], 5, "p"),
            "greeter.slow answered in a frame", r.describe())
    t.check(len(prog) == 5 and all(m["params"].get("token") == "p" for m in prog)
            and [m["params"].get("value") for m in prog] == [1, 2, 3, 4, 5]
            and "id" not in prog[0], "$/progress notifications framed, token = request id",
            json.dumps(prog)[:800])


def malformed(t, ph, d):
    good = frame(req("echo.echo", ["after"], "ok"))

    def expect_error_then_good(what, bad_bytes, opts=(), errors=1, detail=None):
        r, msgs, bad = serve_lsp(ph, d, bad_bytes + good, ["--framing=lsp"] + list(opts))
        errs = [m for m in msgs if is_error(m, -32700)]
        oks = [m for m in msgs if is_result(m, ["after"], "ok")]
        t.check(r.rc == 0 and not bad and len(errs) == errors and len(oks) == 1
                and len(msgs) == errors + 1,
                f"{what}: {errors} x -32700, then the next frame is answered", r.describe())
        if detail:
            t.check(any(detail in json.dumps(e) for e in errs) and detail.encode() in r.err,
                    f"{what}: the error and stderr say {detail!r}", r.describe())

    expect_error_then_good("no Content-Length", b"Content-Type: application/json\r\n\r\n{}",
                           detail="without Content-Length")
    expect_error_then_good("non-numeric Content-Length", b"Content-Length: 1e3\r\n\r\n{}",
                           detail="not a decimal")
    expect_error_then_good("negative Content-Length", b"Content-Length: -2\r\n\r\n{}")
    expect_error_then_good("empty Content-Length", b"Content-Length:\r\n\r\n{}")
    expect_error_then_good("huge Content-Length",
                           b"Content-Length: 99999999999999999999999\r\n\r\n{}")
    expect_error_then_good("two Content-Length headers",
                           b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
                           detail="more than one")
    expect_error_then_good("header line without a colon",
                           b"Content-Length: 2\r\nbogus\r\n\r\n{}", detail="malformed header")
    expect_error_then_good("header lines ended by bare LF", b"Content-Length: 2\n\n{}",
                           detail="not ended by")
    expect_error_then_good("control byte in a header", b"Content-Length: 2\x01\r\n\r\n{}")
    expect_error_then_good("header block over 8192 bytes",
                           b"Content-Length: 2\r\nX-Pad: " + b"p" * 9000 + b"\r\n\r\n{}",
                           detail="larger than 8192")
    expect_error_then_good("body over --max-message is skipped unread",
                           frame("[" + "1," * 3000 + "1]"), ["--max-message", "1000"],
                           detail="larger than --max-message")
    expect_error_then_good("charset other than utf-8, body skipped",
                           frame("{}", b"Content-Type: text/plain; charset=latin1\r\n"),
                           detail="charset")
    expect_error_then_good("invalid JSON body", frame("{\"jsonrpc\": "))
    expect_error_then_good("empty body", b"Content-Length: 0\r\n\r\n")
    expect_error_then_good("garbage between frames", b"garbage garbage\r\n\r\n" + b"\x00" * 40)
    r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [1], 1)) + b"Content-Length: 50\r\n\r\n"
                             + b"{\"jsonrpc\"")
    t.check(r.rc == 0 and not bad and len(msgs) == 2 and any(is_result(m, [1], 1) for m in msgs)
            and any(is_error(m, -32700) for m in msgs) and b"input ended" in r.err,
            "input ends inside a body: -32700 beside the earlier answer, exit 0", r.describe())
    r, msgs, bad = serve_lsp(ph, d, frame(req("echo.echo", [1], 1)) + b"Content-Len")
    t.check(r.rc == 0 and not bad and len(msgs) == 2 and any(is_result(m, [1], 1) for m in msgs)
            and any(is_error(m, -32700) for m in msgs),
            "input ends inside a header: -32700, exit 0", r.describe())
    r, msgs, bad = serve_lsp(ph, d, b"Content-Length: 2\r\n\r\n[]")
    t.check(r.rc == 0 and not bad and len(msgs) == 1 and is_error(msgs[0], -32600),
            "empty batch in a frame: -32600", r.describe())


def main():
    args = harness.parse_args(__doc__)
    t = harness.Checker("test_lsp_framing")
    ph = args.plughost
    files = [harness.echo_so(args)]
    greeter = os.path.join(args.plugins, "greeter.so")
    if os.path.exists(greeter):
        files.append(greeter)
    d = harness.plugin_dir(*files)
    try:
        basics(t, ph, d)
        many_in_one_write(t, ph, d)
        split_writes(t, ph, d)
        malformed(t, ph, d)
        if os.path.exists(greeter):
            progress(t, ph, d)
        else:
            t.check(False, "greeter.so available", greeter)
    finally:
        harness.remove_dir(d)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
