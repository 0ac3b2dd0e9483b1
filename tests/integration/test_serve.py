#!/usr/bin/env python3
"""`plughost serve` as a JSON-RPC 2.0 client sees it: every example of the
specification's examples section (adapted to echo.echo), id types,
pipelining, and crash isolation with the crashy plugin."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def serve_once(ph, path, lines, opts=()):
    """Sends lines, closes stdin, returns (Result, parsed responses)."""
    data = "".join(ln + "\n" for ln in lines).encode()
    r = harness.run(ph, list(opts) + ["serve", path], stdin=data)
    resps = []
    for ln in r.out.splitlines():
        try:
            resps.append(json.loads(ln))
        except ValueError:
            resps.append({"unparsable line": ln.decode("utf-8", "replace")})
    return r, resps


Session = harness.Session


def req(method, params=None, id_=None, notify=False):
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    if not notify:
        m["id"] = id_
    return json.dumps(m)


def is_error(resp, code, id_=None):
    return (isinstance(resp, dict) and resp.get("jsonrpc") == "2.0" and resp.get("id") == id_
            and "result" not in resp and isinstance(resp.get("error"), dict)
            and resp["error"].get("code") == code
            and isinstance(resp["error"].get("message"), str))


def is_result(resp, result, id_):
    return (isinstance(resp, dict) and resp.get("jsonrpc") == "2.0" and "id" in resp
            and resp["id"] == id_ and type(resp["id"]) is type(id_) and "error" not in resp
            and "result" in resp and resp["result"] == result)


def spec_examples(t, ph, d):
    """JSON-RPC 2.0 specification, section 7 ("Examples"), in order."""

    def one(lines, what, expect, opts=()):
        r, resps = serve_once(ph, d, lines, opts)
        t.check(r.rc == 0, f"{what}: serve exits 0", r.describe())
        ok = expect(resps)
        t.check(ok, what, json.dumps(resps)[:1500] + "\n" + r.err.decode("utf-8", "replace")[-800:])
        return resps

    one([req("echo.echo", [42, 23], 1)], "positional params",
        lambda rs: len(rs) == 1 and is_result(rs[0], [42, 23], 1))
    one([req("echo.echo", [23, 42], 2)], "positional params, second example",
        lambda rs: len(rs) == 1 and is_result(rs[0], [23, 42], 2))
    one([req("echo.echo", {"subtrahend": 23, "minuend": 42}, 3)], "named params",
        lambda rs: len(rs) == 1 and is_result(rs[0], {"subtrahend": 23, "minuend": 42}, 3))
    one([req("echo.echo", {"minuend": 42, "subtrahend": 23}, 4)], "named params, second example",
        lambda rs: len(rs) == 1 and is_result(rs[0], {"minuend": 42, "subtrahend": 23}, 4))
    one([req("echo.echo", [1, 2, 3, 4, 5], notify=True), req("echo.nosuch", notify=True),
         req("nosuch.foobar", notify=True), req("foobar", notify=True)],
        "notifications (also to missing methods) get no response", lambda rs: rs == [])
    one([req("foobar", None, "1")], "non-existent method (no plugin prefix): -32601",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32601, "1"))
    one([req("echo.foobar", None, "1")], "non-existent method of a plugin: -32601",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32601, "1"))
    one([req("foobar.echo", None, "1")], "method of a non-existent plugin: -32601",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32601, "1"))
    one(['{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]'],
        "invalid JSON: -32700 with id null", lambda rs: len(rs) == 1 and is_error(rs[0], -32700))
    one(['{"jsonrpc": "2.0", "method": 1, "params": "bar"}'],
        "invalid Request object: -32600 with id null",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32600))
    one(['[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},'
         ',{"jsonrpc": "2.0", "method" ]'],
        "batch with invalid JSON: one -32700, not an array",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32700))
    one(["[]"], "empty array: one -32600, not an array",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32600))
    one(["[1]"], "invalid batch [1]: an array of one -32600",
        lambda rs: len(rs) == 1 and isinstance(rs[0], list) and len(rs[0]) == 1
        and is_error(rs[0][0], -32600))
    one(["[1,2,3]"], "invalid batch [1,2,3]: an array of three -32600",
        lambda rs: len(rs) == 1 and isinstance(rs[0], list) and len(rs[0]) == 3
        and all(is_error(x, -32600) for x in rs[0]))

    mixed = ("[" + ",".join([
        req("echo.echo", [1, 2, 4], "1"),
        req("echo.echo", [7], notify=True),
        req("echo.echo", [42, 23], "2"),
        '{"foo": "boo"}',
        req("foo.get", {"name": "myself"}, "5"),
        req("echo.echo", None, "9"),
    ]) + "]")

    def mixed_ok(rs):
        if len(rs) != 1 or not isinstance(rs[0], list) or len(rs[0]) != 5:
            return False
        by_id = {}
        for x in rs[0]:
            by_id.setdefault(json.dumps(x.get("id")), []).append(x)
        return (is_result(by_id.get('"1"', [{}])[0], [1, 2, 4], "1")
                and is_result(by_id.get('"2"', [{}])[0], [42, 23], "2")
                and is_error(by_id.get("null", [{}])[0], -32600)
                and is_error(by_id.get('"5"', [{}])[0], -32601, "5")
                and is_result(by_id.get('"9"', [{}])[0], None, "9"))

    one([mixed], "mixed batch: one array of five answers, matched by id", mixed_ok)
    one(["[" + req("echo.echo", [1, 2, 4], notify=True) + "," + req("echo.echo", [7], notify=True)
         + "]"], "batch of notifications only: no response", lambda rs: rs == [])

    # Beyond the examples, from the specification's text.
    one(["42"], "valid JSON that is not a request object: -32600 (not -32700)",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32600))
    one(['{"jsonrpc": "2.0", "method": "echo.echo", "params": 5, "id": 6}'],
        "scalar params: -32600, the id echoed",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32600, 6))
    one(['{"jsonrpc": "1.0", "method": "echo.echo", "id": 7}'], "jsonrpc 1.0: -32600",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32600, 7))
    one([req("rpc.discover", None, 8)], "rpc.* is reserved: -32601",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32601, 8))
    one(["", "   ", req("echo.echo", [1], 9) + "\r", ""], "blank lines ignored, CRLF accepted",
        lambda rs: len(rs) == 1 and is_result(rs[0], [1], 9))
    one([req("echo.echo", [1], 10)[:-1]], "unterminated last line at EOF: -32700",
        lambda rs: len(rs) == 1 and is_error(rs[0], -32700))
    one(['{"jsonrpc":"2.0","id":11,"method":"echo.echo","params":["\u00e9"]}'],
        "UTF-8 passes through", lambda rs: len(rs) == 1 and is_result(rs[0], ["\u00e9"], 11))


def id_types(t, ph, d):
    ids = ["abc", "", "\u00e9\u4e2d", 7, 0, -5, 2 ** 53, None]
    lines = [req("echo.echo", [i], id_) for i, id_ in enumerate(ids)]
    r, resps = serve_once(ph, d, lines)
    t.check(r.rc == 0 and len(resps) == len(ids), "id types: one answer each", json.dumps(resps))
    for i, id_ in enumerate(ids):
        got = [x for x in resps if x.get("result") == [i]]
        t.check(len(got) == 1 and "id" in got[0] and got[0]["id"] == id_
                and type(got[0]["id"]) is type(id_),
                f"id {json.dumps(id_)} echoed with its type", json.dumps(got))

    for bad in ("1.5", "true", "{}", "[1]"):
        r, resps = serve_once(ph, d, ['{"jsonrpc":"2.0","method":"echo.echo","id":%s}' % bad])
        t.check(len(resps) == 1 and is_error(resps[0], -32600),
                f"id {bad}: -32600 with id null", json.dumps(resps))


def forwarded_bytes(t, ph, d):
    """serve forwards a plain request's bytes (handle_raw in serve.c) and
    parses everything else; the two paths must answer alike. Each line is
    sent alone (the fast path when it qualifies) and as the one element of
    a batch (always parsed), and the answers compared."""
    deep = "[" * 70 + "1" + "]" * 70
    wide = "{" + ",".join('"k%d":%d' % (i, i) for i in range(40)) + "}"
    cases = [
        ('{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":[1,"x",{"k":[true,null]}]}',
         [1, "x", {"k": [True, None]}]),
        ('{ "jsonrpc" : "2.0" , "id" : 2 , "method" : "echo.echo" , '
         '"params" : { "a" : [ 1 , 2.5 ] } }', {"a": [1, 2.5]}),
        ('{"params":["last"],"method":"echo.echo","id":3,"jsonrpc":"2.0"}', ["last"]),
        ('{"jsonrpc":"2.0","id":4,"method":"echo.echo","params":["\\u00e9\\ud83d\\ude00"]}',
         ["\u00e9\U0001F600"]),
        ('{"jsonrpc":"2.0","id":"a\\"b","method":"echo.echo","params":[5]}', [5]),
        ('{"jsonrpc":"2.0","id":6,"method":"echo\\u002eecho","params":[6]}', [6]),
        ('{"jsonrpc":"2.0","id":7,"method":"echo.echo","params":%s}' % deep, json.loads(deep)),
        ('{"jsonrpc":"2.0","id":8,"method":"echo.echo","params":%s}' % wide, json.loads(wide)),
        ('{"jsonrpc":"2.0","id":9,"method":"echo.echo","params":[123456789012345678,-0.5e-3]}',
         [123456789012345678, -0.0005]),
    ]
    for line, want in cases:
        id_ = json.loads(line)["id"]
        r, resps = serve_once(ph, d, [line, "[" + line + "]"])
        single = [x for x in resps if isinstance(x, dict)]
        batch = [x for x in resps if isinstance(x, list)]
        t.check(r.rc == 0 and len(single) == 1 and is_result(single[0], want, id_),
                f"forwarded: {line[:60]}", json.dumps(resps)[:300])
        t.check(len(batch) == 1 and batch[0] == single,
                f"forwarded and parsed answers agree: {line[:50]}", json.dumps(resps)[:300])

    # The client's id spelling -0 is answered as the parsing path does, 0.
    r, resps = serve_once(ph, d, ['{"jsonrpc":"2.0","id":-0,"method":"echo.echo","params":[1]}'])
    t.check(len(resps) == 1 and r.out.count(b'"id":0,') == 1, "id -0 answered as 0", r.describe())

    # Refused alike on both paths: what jansson refuses is a parse error
    # even where the scanner had no opinion, and errors keep their codes.
    refused = [
        ('{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":[12345678901234567890]}', -32700),
        ('{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":[1e400]}', -32700),
        ('{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":["\\u0000"]}', -32700),
        ('{"jsonrpc":"2.0","id":1,"id":2,"method":"echo.echo","params":[]}', -32700),
        ('{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":["\\xff"]}', -32700),
        ('{"jsonrpc":"2.0","id":1,"method":"echo.nosuch","params":[]}', -32601),
        ('{"jsonrpc":"2.0","id":1,"method":"nope.echo"}', -32601),
        ('{"jsonrpc":"2.0","id":1,"method":"rpc.echo","params":[]}', -32601),
        ('{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":7}', -32600),
        ('{"jsonrpc":"1.0","id":1,"method":"echo.echo","params":[]}', -32600),
    ]
    for line, code in refused:
        data = (line + "\n").encode("utf-8", "surrogateescape")
        r = harness.run(ph, ["serve", d], stdin=data.replace(b"\\xff", b"\xff"))
        resps = [json.loads(x) for x in r.out.splitlines() if x.strip()]
        t.check(r.rc == 0 and len(resps) == 1 and isinstance(resps[0], dict)
                and resps[0].get("error", {}).get("code") == code,
                f"refused with {code}: {line[:60]}", json.dumps(resps)[:300])


def forwarded_with_schema(t, ph, crashy):
    """A forwarded request to a method with a params schema: the host reads
    those bytes after all, to check them (echo_v3 declares an array)."""
    v3 = os.path.join(os.path.dirname(os.path.dirname(crashy)), "variants", "echo_v3.so")
    d = harness.plugin_dir(v3)
    try:
        r, resps = serve_once(ph, d, [
            '{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":[1, 2]}',
            '{"jsonrpc":"2.0","id":2,"method":"echo.echo","params":{"a": 1}}'])
        got = {x.get("id"): x for x in resps if isinstance(x, dict)}
        t.check(is_result(got.get(1), [1, 2], 1), "schema: an array passes", json.dumps(resps))
        t.check(is_error(got.get(2), -32602, 2), "schema: an object is -32602 from the host",
                json.dumps(resps))
    finally:
        harness.remove_dir(d)


def pipelined(t, ph, d):
    n = 300
    lines = []
    for i in range(n):
        id_ = i if i % 2 else f"s{i}"
        lines.append(req("echo.echo", {"i": i, "pad": "x" * (i * 37 % 3000)}, id_))
        if i % 50 == 0:
            lines.append(req("echo.echo", [i], notify=True))
    t0 = time.monotonic()
    r, resps = serve_once(ph, d, lines)
    t.check(r.rc == 0 and not r.timed_out, f"{n} pipelined requests: serve exits 0 at EOF",
            r.describe())
    t.check(len(resps) == n, f"{n} pipelined requests: {n} answers", f"got {len(resps)}")
    seen = {}
    for x in resps:
        seen.setdefault(json.dumps(x.get("id")), []).append(x)
    bad = []
    for i in range(n):
        id_ = i if i % 2 else f"s{i}"
        got = seen.get(json.dumps(id_), [])
        if len(got) != 1 or got[0].get("result", {}).get("i") != i:
            bad.append((id_, got))
    t.check(not bad, "every pipelined request answered once, by its own id",
            json.dumps(bad[:5])[:1500])
    print(f"     ({n} requests in {time.monotonic() - t0:.2f} s)")


def crash_isolation(t, ph, d):
    s = Session(ph, d)
    try:
        r = s.call(req("crashy.ok", None, 1))
        t.check(is_result(r, "ok", 1), "crashy.ok before anything", r)

        r = s.call(req("crashy.crash", None, 2))
        e = (r or {}).get("error", {})
        data = e.get("data", {})
        t.check(is_error(r, -32000, 2), "crash: -32000", r)
        t.check(data.get("status") == "signaled" and data.get("signal") == "SIGSEGV",
                "crash: status signaled, signal SIGSEGV", r)
        t.check(data.get("plugin") == "crashy" and data.get("method") == "crash"
                and "crashy" in e.get("message", "") and "crash" in e.get("message", ""),
                "crash: names the plugin and the method", r)

        r = s.call(req("echo.echo", ["after crash"], 3))
        t.check(is_result(r, ["after crash"], 3), "echo.echo still works after the crash", r)
        r = s.call(req("crashy.ok", None, 4))
        t.check(is_result(r, "ok", 4), "crashy.ok works again (restarted on the next call)", r)

        r = s.call(req("crashy.exit", None, 5))
        data = (r or {}).get("error", {}).get("data", {})
        t.check(is_error(r, -32000, 5) and data.get("status") == "exited"
                and data.get("exit_code") == 3, "exit: -32000, status exited, exit_code 3", r)
        r = s.call(req("crashy.ok", None, 6))
        t.check(is_result(r, "ok", 6), "crashy.ok after exit", r)

        # A crash fails only the calls in flight in that plugin.
        s.send(req("crashy.crash", None, 7))
        s.send(req("echo.echo", [8], 8))
        got = [s.recv(), s.recv()]
        by_id = {x.get("id"): x for x in got if isinstance(x, dict)}
        t.check(is_error(by_id.get(7), -32000, 7) and is_result(by_id.get(8), [8], 8),
                "crash beside a concurrent echo call: each gets its own answer", got)

        rc = s.close()
        t.check(rc == 0, "serve exits 0 at EOF after the crashes", f"exit {rc}\n{s.stderr()}")
    finally:
        if s.p.poll() is None:
            s.p.kill()

    s = Session(ph, d, ["--timeout", "300"])
    try:
        t0 = time.monotonic()
        r = s.call(req("crashy.hang", None, 1))
        took = time.monotonic() - t0
        data = (r or {}).get("error", {}).get("data", {})
        t.check(is_error(r, -32001, 1) and data.get("status") == "timeout",
                "hang with --timeout 300: -32001, status timeout", r)
        t.check(took < 10, f"hang answered in {took:.2f} s", r)
        r = s.call(req("crashy.ok", None, 2))
        t.check(is_result(r, "ok", 2), "crashy.ok after the timeout", r)
        rc = s.close()
        t.check(rc == 0, "serve exits 0 after the timeout", f"exit {rc}\n{s.stderr()}")
    finally:
        if s.p.poll() is None:
            s.p.kill()

    # A hung plugin blocks nobody else; $/cancelRequest answers at once.
    s = Session(ph, d, ["--timeout", "20000"])
    try:
        s.send(req("crashy.hang", None, "h"))
        r = s.call(req("echo.echo", ["meanwhile"], "e"), timeout=5)
        t.check(is_result(r, ["meanwhile"], "e"), "echo answers while crashy hangs", r)
        t0 = time.monotonic()
        s.send(req("$/cancelRequest", {"id": "h"}, notify=True))
        r = s.recv(timeout=5)
        t.check(is_error(r, -32800, "h"), "$/cancelRequest: the hung call gets -32800", r)
        t.check(time.monotonic() - t0 < 2, "cancel answered promptly",
                f"{time.monotonic() - t0:.2f} s")
        # The method ignores cancellation, so the host kills it after the
        # grace period; a call sent before that would queue behind the hang
        # and share its fate, so wait for the kill first.
        end = time.monotonic() + 15
        while "stopped by the host" not in s.stderr() and time.monotonic() < end:
            time.sleep(0.05)
        t.check("stopped by the host" in s.stderr(),
                "the plugin deaf to the cancel is killed after the grace period", s.stderr())
        r = s.call(req("crashy.ok", None, "k"), timeout=15)
        t.check(is_result(r, "ok", "k"), "crashy.ok after the cancelled hang", r)
        rc = s.close()
        t.check(rc == 0, "serve exits 0 after the cancel", f"exit {rc}\n{s.stderr()}")
    finally:
        if s.p.poll() is None:
            s.p.kill()

    # EOF with a call still running: serve waits for its answer, then exits.
    r, resps = serve_once(ph, d, [req("crashy.hang", None, 1), req("echo.echo", [2], 2)],
                          ["--timeout", "300"])
    t.check(r.rc == 0 and len(resps) == 2 and any(is_error(x, -32001, 1) for x in resps)
            and any(is_result(x, [2], 2) for x in resps),
            "EOF with a hung call: both answered, exit 0", r.describe())


def main():
    args = harness.parse_args(__doc__)
    t = harness.Checker("test_serve")
    ph = args.plughost
    echo = harness.echo_so(args)

    d = harness.plugin_dir(echo)
    try:
        spec_examples(t, ph, d)
        id_types(t, ph, d)
        forwarded_bytes(t, ph, d)
        pipelined(t, ph, d)
    finally:
        harness.remove_dir(d)

    if args.crashy and os.path.exists(args.crashy):
        forwarded_with_schema(t, ph, args.crashy)
        d = harness.plugin_dir(echo, args.crashy)
        try:
            crash_isolation(t, ph, d)
        finally:
            harness.remove_dir(d)
    else:
        t.check(False, "crashy.so available", f"--crashy {args.crashy}")
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
