#!/usr/bin/env python3
"""The plughost command line as a user meets it: help, version, list, call,
exit codes, traces, broken plugin files and message size limits."""

import json
import os
import re
import tempfile
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    args = harness.parse_args(__doc__)
    t = harness.Checker("test_cli")
    ph = args.plughost
    echo = harness.echo_so(args)

    r = harness.run(ph, ["--help"])
    out = r.out.decode()
    t.check(r.rc == 0 and "usage: plughost" in out, "--help exits 0 with usage", r.describe())
    for word in ("list", "call", "serve", "--timeout", "--max-message", "--trace", "exit codes"):
        t.check(word in out, f"--help mentions {word}")

    r = harness.run(ph, ["--version"])
    t.check(r.rc == 0 and re.fullmatch(rb"plughost \d+\.\d+\.\d+ \(protocol \d+\)\n", r.out),
            "--version prints 'plughost X.Y.Z (protocol N)'", r.describe())

    for argv, what in (([], "no command"), (["--bogus"], "unknown option"),
                       (["frob"], "unknown command"), (["list"], "list without DIR"),
                       (["call", args.plugins], "call without PLUGIN.METHOD"),
                       (["call", args.plugins, "echo"], "call target without a dot"),
                       (["--timeout", "x", "list", args.plugins], "non-numeric --timeout"),
                       (["--timeout"], "--timeout without a value")):
        r = harness.run(ph, argv)
        t.check(r.rc == 2, f"usage error exits 2: {what}", r.describe())

    # Params too large for one argument (Linux caps one at 128 KiB): from
    # stdin ("-") or a file ("@FILE"), bounded like any message.
    big = json.dumps(["x" * 300000]).encode()
    r = harness.run(ph, ["call", echo, "echo.echo", "-"], stdin=big)
    t.check(r.rc == 0 and r.out.strip() == big, "call reads 300 kB params from stdin",
            r.describe()[:300])
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(big)
        f.flush()
        r = harness.run(ph, ["call", echo, "echo.echo", "@" + f.name])
        t.check(r.rc == 0 and r.out.strip() == big, "call reads 300 kB params from @FILE",
                r.describe()[:300])
        r = harness.run(ph, ["--max-message", "1000", "call", echo, "echo.echo", "@" + f.name])
        t.check(r.rc == 2 and b"larger than the maximum message size" in r.err,
                "params from a file past --max-message are refused", r.describe()[:300])
    r = harness.run(ph, ["call", echo, "echo.echo", "@/nonexistent/params.json"])
    t.check(r.rc == 2, "a missing params file is a usage error", r.describe())

    # list, text and JSON, on the real example directory.
    r = harness.run(ph, ["list", args.plugins])
    out = r.out.decode()
    t.check(r.rc == 0, "list exits 0", r.describe())
    t.check(re.search(r"^echo 1\.0\.0 ", out, re.M) is not None, "list shows 'echo 1.0.0'", out)
    t.check(re.search(r"^\s+echo\.echo\b.*returns its params unchanged", out, re.M) is not None,
            "list shows echo.echo with its description", out)
    t.check("not loaded" not in out, "list of the example directory has no failures", out)

    r = harness.run(ph, ["list", "--json", args.plugins])
    try:
        d = json.loads(r.out)
    except ValueError:
        d = None
    t.check(r.rc == 0 and isinstance(d, dict), "list --json prints one JSON object", r.describe())
    d = d or {}
    plugins = {p.get("name"): p for p in d.get("plugins", [])}
    e = plugins.get("echo", {})
    t.check(e.get("version") == "1.0.0" and e.get("state") == "ready",
            "list --json: echo ready, version 1.0.0", json.dumps(e)[:500])
    t.check([m.get("name") for m in e.get("methods", [])] == ["echo"],
            "list --json: echo's methods", json.dumps(e.get("methods")))
    t.check(d.get("errors") == [], "list --json: no errors", json.dumps(d.get("errors")))
    # Where the start's time went: every stage, none negative, within the whole.
    st = e.get("spawn_stages_us", {})
    names = ["clone", "exec", "filter", "root", "confine", "handover", "dlopen", "hello"]
    t.check(sorted(st) == sorted(names)
            and all(isinstance(st[k], int) and st[k] >= 0 for k in names)
            and isinstance(e.get("spawn_us"), int) and 0 < sum(st.values()) <= e["spawn_us"],
            "list --json: echo's spawn_stages_us add up to no more than spawn_us",
            json.dumps({"stages": st, "spawn_us": e.get("spawn_us")}))
    # The cgroup record: in force with its figures, or why not; never absent.
    cg = e.get("layers", {}).get("cgroup", {})
    t.check((cg.get("active") is True and cg.get("version") in (1, 2)
             and cg.get("memory_max") == 1 << 30 and cg.get("pids_max") == 1
             and isinstance(cg.get("path"), str))
            or (cg.get("active") is False and cg.get("reason")),
            "list --json: echo's layers.cgroup says what is in force, or why not",
            json.dumps(cg))

    r = harness.run(ph, ["list", "/nonexistent/plughost-dir"])
    t.check(r.rc not in (0, None) and b"/nonexistent/plughost-dir" in r.err,
            "list of a missing directory fails and names it", r.describe())

    # call
    r = harness.run(ph, ["call", args.plugins, "echo.echo", '["hello",1,{"a":[null,true]}]'])
    t.check(r.rc == 0, "call echo.echo exits 0", r.describe())
    try:
        got = json.loads(r.out)
    except ValueError:
        got = None
    t.check(got == ["hello", 1, {"a": [None, True]}], "call prints the result as JSON",
            r.describe())
    t.check(r.out.count(b"\n") == 1, "call prints exactly one line", r.describe())

    r = harness.run(ph, ["call", args.plugins, "echo.echo", '{"k":"v"}'])
    t.check(r.rc == 0 and json.loads(r.out or b"null") == {"k": "v"}, "call with named params",
            r.describe())
    r = harness.run(ph, ["call", args.plugins, "echo.echo"])
    t.check(r.rc == 0 and r.out == b"null\n", "call without params gives null", r.describe())
    r = harness.run(ph, ["call", echo, "echo.echo", "[1]"])
    t.check(r.rc == 0 and r.out == b"[1]\n", "call with a single plugin file as DIR",
            r.describe())

    for target, what in (("nosuch.echo", "unknown plugin"), ("echo.nosuch", "unknown method")):
        r = harness.run(ph, ["call", args.plugins, target, "[]"])
        err = r.last_error()
        t.check(r.rc == 3, f"{what}: exit 3", r.describe())
        t.check(err is not None and err.get("code") == -32601,
                f"{what}: stderr ends with 'error: ' and code -32601", r.describe())

    for params, what in (("[1,", "truncated JSON"), ("5", "a scalar"), ('"x"', "a string"),
                         ('{"a":1,"a":2}', "duplicate keys"), ("", "empty")):
        r = harness.run(ph, ["call", args.plugins, "echo.echo", params])
        t.check(r.rc == 2 and b"params" in r.err, f"bad params ({what}): exit 2", r.describe())

    # --trace: both directions, with the bytes escaped (no raw control or
    # non-ASCII bytes reach the terminal).
    r = harness.run(ph, ["--trace", "call", echo, "echo.echo", '["a\\nb","\u00e9"]'])
    err = r.err.decode("utf-8", "replace")
    t.check(r.rc == 0, "--trace call exits 0", r.describe())
    to = [ln for ln in err.splitlines() if re.match(r"trace \S+ to .*\"method\":\"echo\"", ln)]
    frm = [ln for ln in err.splitlines() if re.match(r"trace \S+ from .*\"result\"", ln)]
    t.check(len(to) == 1 and len(frm) == 1, "--trace shows the request and the answer", err)
    t.check(all("\\x5cn" in ln and "\\xc3\\xa9" in ln for ln in to + frm),
            "--trace escapes backslashes and non-ASCII bytes", "\n".join(to + frm))
    t.check(all(0x20 <= b < 0x7f or b == 0x0a for b in r.err),
            "--trace output is printable ASCII", r.err[:500])
    t.check(json.loads(r.out or b"null") == ["a\nb", "\u00e9"], "--trace leaves stdout alone",
            r.describe())

    # A file that is not a plugin: reported, and no obstacle to the others.
    d = harness.plugin_dir(echo)
    try:
        with open(os.path.join(d, "bad.so"), "w") as f:
            f.write("this is not an ELF file\n")
        with open(os.path.join(d, "notes.txt"), "w") as f:
            f.write("ignored: not a .so\n")
        r = harness.run(ph, ["list", d])
        out = r.out.decode()
        bad_lines = [ln for ln in out.splitlines() if ln.startswith("not loaded:")]
        t.check(r.rc == 3, "list with a bad .so exits 3 (a plugin failed to load)",
                r.describe())
        t.check(len(bad_lines) == 1 and "bad.so" in bad_lines[0]
                and len(bad_lines[0].split("bad.so", 1)[1].strip(": ")) > 0,
                "list reports bad.so with a reason", out)
        t.check("notes.txt" not in out, "list ignores files not ending in .so", out)
        t.check(re.search(r"^echo 1\.0\.0 ", out, re.M) is not None,
                "list still shows echo beside bad.so", out)
        r = harness.run(ph, ["list", "--json", d])
        j = json.loads(r.out or b"{}")
        errs = j.get("errors", [])
        t.check(len(errs) == 1 and errs[0].get("file", "").endswith("/bad.so")
                and errs[0].get("error", {}).get("message"),
                "list --json: bad.so in errors with a message", json.dumps(errs))
        t.check([p.get("name") for p in j.get("plugins", [])] == ["echo"],
                "list --json: echo loaded beside bad.so", json.dumps(j.get("plugins"))[:300])
        r = harness.run(ph, ["call", d, "echo.echo", '["still here"]'])
        t.check(r.rc == 0 and r.out == b'["still here"]\n', "echo works beside bad.so",
                r.describe())
        r = harness.run(ph, ["call", d, "bad.x", "[]"])
        e = r.last_error()
        t.check(r.rc == 3 and e is not None and e.get("code") == -32003,
                "calling into bad.so: exit 3, -32003 saying why it did not load", r.describe())
    finally:
        harness.remove_dir(d)

    # Crashes, exits and hangs through `call`: exit codes from --help.
    if args.crashy and os.path.exists(args.crashy):
        d = harness.plugin_dir(echo, args.crashy)
        try:
            for method, rc, code, status, opts in (
                    ("crash", 4, -32000, "signaled", []),
                    ("exit", 4, -32000, "exited", []),
                    ("hang", 5, -32001, "timeout", ["--timeout", "300"])):
                r = harness.run(ph, opts + ["call", d, f"crashy.{method}"])
                e = r.last_error() or {}
                t.check(r.rc == rc and e.get("code") == code
                        and e.get("data", {}).get("status") == status,
                        f"call crashy.{method}: exit {rc}, code {code}, status {status}",
                        r.describe())
            r = harness.run(ph, ["call", d, "crashy.ok"])
            t.check(r.rc == 0 and r.out == b'"ok"\n', "call crashy.ok", r.describe())
        finally:
            harness.remove_dir(d)
    else:
        t.check(False, "crashy.so available", f"--crashy {args.crashy}")

    # Size: the largest argument Linux passes is 128 KiB, so `call` gets a
    # big-but-legal payload; 5 MiB goes through `serve`.
    payload = "".join(chr(0x21 + (i * 7) % 90) for i in range(100_000)).replace("\\", "/")
    payload = payload.replace('"', "'")
    r = harness.run(ph, ["call", echo, "echo.echo", json.dumps([payload])])
    t.check(r.rc == 0 and json.loads(r.out or b"null") == [payload],
            "call echoes a 100 KB payload intact", r.describe())

    big = "".join(chr(0x20 + (i * 31 + i // 1000) % 95) for i in range(5 << 20))
    req = {"jsonrpc": "2.0", "id": 1, "method": "echo.echo", "params": [big, "\u00e9\u20ac"]}
    r = harness.run(ph, ["serve", echo], stdin=json.dumps(req).encode() + b"\n", timeout=60)
    try:
        resp = json.loads(r.out)
    except ValueError:
        resp = {}
    t.check(r.rc == 0 and resp.get("id") == 1 and resp.get("result") == [big, "\u00e9\u20ac"],
            "a 5 MiB payload is echoed intact", r.describe())

    # Over --max-message: a clear error, not a crash.
    r = harness.run(ph, ["--max-message", "1000", "call", echo, "echo.echo",
                         json.dumps(["x" * 2000])])
    e = r.last_error() or {}
    t.check(r.rc == 8 and e.get("code") == -32005, "call over --max-message: exit 8, -32005",
            r.describe())
    t.check("max" in e.get("message", "") or "max" in json.dumps(e.get("data", {})),
            "call over --max-message: the error names the limit", r.describe())
    r = harness.run(ph, ["--max-message", "1000", "call", echo, "echo.echo",
                         json.dumps(["x" * 100])])
    t.check(r.rc == 0, "call under --max-message still works", r.describe())

    lines = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo.echo",
                         "params": ["y" * (2 << 20)]}) + "\n"
             + json.dumps({"jsonrpc": "2.0", "id": 2, "method": "echo.echo",
                           "params": ["small"]}) + "\n").encode()
    r = harness.run(ph, ["--max-message", str(1 << 20), "serve", echo], stdin=lines)
    resps = [json.loads(ln) for ln in r.out.splitlines() if ln.strip()]
    t.check(r.rc == 0 and not r.timed_out, "serve with a line over --max-message exits 0",
            r.describe())
    over = [x for x in resps if x.get("error", {}).get("code") == -32700]
    t.check(len(over) == 1 and over[0].get("id") is None
            and "max" in json.dumps(over[0]["error"]),
            "serve: a line over --max-message gets one -32700 naming the limit",
            json.dumps(resps)[:800])
    t.check(any(x.get("id") == 2 and x.get("result") == ["small"] for x in resps),
            "serve: the next line is answered normally", json.dumps(resps)[:800])

    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
