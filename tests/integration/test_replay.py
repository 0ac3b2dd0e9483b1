#!/usr/bin/env python3
"""plughost --record and plughost replay: a call and a serve session with
greeter (host functions, logs, notifications, progress, a cancellation),
textstats and echo are recorded; replayed against the same build they show
no difference; against a changed echo every change is reported exactly; a
corrupt transcript is refused with its line number."""

import json
import os
import shutil
import sys

import harness

args = harness.parse_args(__doc__)
c = harness.Checker("test_replay")
ph = args.plughost
work = harness.plugin_dir(*(os.path.join(args.plugins, f)
                            for f in ("echo.so", "greeter.so", "textstats.so")))
tmp = harness.plugin_dir()  # transcripts


def lines(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def out_lines(r):
    return r.out.decode().splitlines()


# 1. A call, recorded and replayed.
call_rec = os.path.join(tmp, "call.jsonl")
r = harness.run(ph, ["--record", call_rec, "call", work, "greeter.greet", '{"name":"Ann"}'])
c.check(r.rc == 0, "call --record: the call works", r.describe())
t = lines(call_rec)
c.check(t[0].get("plughost_transcript") == 1 and t[0].get("plughost"), "header line first",
        t[0])
msgs = [x for x in t[1:] if "msg" in x]
greeter = [x for x in msgs if x["plugin"] == "greeter"]
methods = [(x["dir"], x["msg"].get("method")) for x in greeter]
for want in [("from_plugin", "ph.hello"), ("to_plugin", "greet"),
             ("from_plugin", "host.version"), ("from_plugin", "host.kv_get"),
             ("from_plugin", "host.kv_set"), ("from_plugin", "$/log"),
             ("from_plugin", "greeted"), ("to_plugin", "ph.shutdown")]:
    c.check(want in methods, f"transcript has {want[0]} {want[1]}", methods)
answers = [x for x in greeter if x["dir"] == "to_plugin" and "result" in x["msg"]]
c.check(len(answers) == 3, "the host's three answers to host functions are recorded", answers)
plugins = {x["plugin"]: x for x in t if x.get("type") == "plugin"}
c.check(sorted(plugins) == ["echo", "greeter", "textstats"] and
        all(len(p["sha256"]) == 64 and p["file"].endswith(".so") for p in plugins.values()),
        "each plugin's file and sha256 are recorded", plugins)
seqs = [x["seq"] for x in t[1:]]
c.check(seqs == list(range(1, len(seqs) + 1)), "seq counts every line", seqs[:10])

r = harness.run(ph, ["replay", call_rec, "--plugins", work])
c.check(r.rc == 0 and r.out == b"" and b"0 difference(s)" in r.err,
        "replay of the call against the same build: exit 0, no difference", r.describe())

# 2. A serve session: pipelined calls, progress, a cancellation, all three plugins.
serve_rec = os.path.join(tmp, "serve.jsonl")
reqs = [
    {"id": 1, "method": "greeter.greet", "params": {"name": "A"}},
    {"id": 2, "method": "greeter.slow", "params": {"n": 5}},
    {"id": 3, "method": "textstats.stats", "params": {"text": "a b a"}},
    {"id": 4, "method": "echo.echo", "params": ["changed"]},
    {"id": 5, "method": "echo.echo", "params": ["ask"]},
    {"id": 6, "method": "greeter.greet", "params": {"name": "B"}},
    {"id": 7, "method": "greeter.slow", "params": {"n": 1000}},
    {"id": 8, "method": "echo.echo", "params": {"k": [1, 2]}},
]
stdin = "".join(json.dumps(dict(jsonrpc="2.0", **q)) + "\n" for q in reqs)
stdin += json.dumps({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 7}}) + "\n"
r = harness.run(ph, ["--record", serve_rec, "serve", work], stdin=stdin.encode())
answers = [json.loads(x) for x in r.out.splitlines()]
c.check(r.rc == 0 and len([a for a in answers if "id" in a]) == 8,
        "serve --record: every call answered", r.describe())
t = lines(serve_rec)
kinds = {x["msg"].get("method") for x in t if "msg" in x}
c.check({"$/progress", "$/cancelRequest", "host.kv_set", "greeted", "stats", "echo"} <= kinds,
        "the serve transcript has progress, the cancellation, host calls, notifications", kinds)
cancel = [x for x in t if "msg" in x and x["msg"].get("method") == "$/cancelRequest"]
cid = cancel[0]["msg"]["params"]["id"] if cancel else "?"
# How far the cancelled count got is timing: leave that call's details out.
volatile = ["--ignore", f"greeter#{cid}:*"]

r = harness.run(ph, ["replay", serve_rec, "--plugins", work] + volatile)
c.check(r.rc == 0 and r.out == b"" and b"8 call(s) to 3 plugin(s), 0 difference(s)" in r.err,
        "replay of the session against the same build: exit 0, no difference", r.describe())

# serve --mcp records the same way: tools/call traffic replays clean.
mcp_rec = os.path.join(tmp, "mcp.jsonl")
mcp_in = "".join(json.dumps(m) + "\n" for m in [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
     "params": {"name": "textstats__calc", "arguments": {"expr": "6*7"}}},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
     "params": {"name": "greeter__greet", "arguments": {"name": "M"}}},
])
r = harness.run(ph, ["--record", mcp_rec, "serve", "--mcp", work], stdin=mcp_in.encode())
calls = [x for x in lines(mcp_rec) if "msg" in x and x["msg"].get("method") in ("calc", "greet")]
c.check(r.rc == 0 and len(calls) == 2, "serve --mcp --record: the tool calls are recorded",
        r.describe())
r = harness.run(ph, ["replay", mcp_rec, "--plugins", work])
c.check(r.rc == 0 and b"2 call(s)" in r.err and b"0 difference(s)" in r.err,
        "the MCP session replays with no difference", r.describe())

# 3. Against a changed echo: every change, exactly.
changed = harness.plugin_dir(os.path.join(args.plugins, "greeter.so"),
                             os.path.join(args.plugins, "textstats.so"))
shutil.copy(os.path.join(args.variants, "echo_v2.so"), os.path.join(changed, "echo.so"))
ids = {json.dumps(x["msg"]["params"]): x["msg"]["id"] for x in t
       if "msg" in x and x["plugin"] == "echo" and x["msg"].get("method") == "echo"}
i_changed, i_ask = ids.get('["changed"]'), ids.get('["ask"]')
r = harness.run(ph, ["replay", serve_rec, "--plugins", changed] + volatile)
got = out_lines(r)
want = [
    'echo hello.methods.echo.description: recorded "returns its params unchanged", '
    'now "returns its params, mostly unchanged"',
    f'echo#{i_changed} echo.echo result[0]: recorded "changed", now "CHANGED"',
    f'echo#{i_ask} echo.echo result: recorded ["ask"], now (nothing)',
    f'echo#{i_ask} echo.echo host_call: recorded (nothing), now '
    '[{"method":"host.version","params":null}]',
]
c.check(r.rc == 1, "replay against a changed echo: exit 1", r.describe())
c.check(b"echo: another build (sha256" in r.err and b"greeter: the recorded build" in r.err,
        "stderr says which plugins are another build", r.describe())
for w in want:
    c.check(w in got, f"reported: {w[:70]}", "\n".join(got))
err = [x for x in got if x.startswith(f"echo#{i_ask} echo.echo error:")]
c.check(len(err) == 1 and "not in the recording" in err[0],
        "the unrecorded host call was answered with an error saying so", "\n".join(got))
c.check(len(got) == len(want) + 1, "nothing else is reported", "\n".join(got))

r = harness.run(ph, ["replay", serve_rec, "--plugins", changed, "--ignore-handshake",
                     "--ignore", f"echo#{i_ask}:*"] + volatile)
c.check(r.rc == 1 and out_lines(r) == [want[1]],
        "--ignore-handshake and --ignore leave out what they name", r.describe())
r = harness.run(ph, ["--json", "replay", serve_rec, "--plugins", changed, "--ignore-handshake",
                     "--ignore", f"echo#{i_ask}:*"] + volatile)
j = [json.loads(x) for x in out_lines(r)] if r.rc == 1 else []
c.check(j == [{"where": f"echo#{i_changed} echo.echo", "path": "result[0]",
               "recorded": "changed", "now": "CHANGED"}], "--json: one object a difference",
        r.describe())

# Host calls are matched per call: a recording edited so that the first
# greet made no host.kv_get reports that call, and not every later one.
edited = os.path.join(tmp, "edited.jsonl")
kv = [x for x in t if "msg" in x and x["dir"] == "from_plugin" and
      x["msg"].get("method") == "host.kv_get"]
drop = {(kv[0]["pid"], kv[0]["msg"]["id"])} if kv else set()
greets = [x["msg"]["id"] for x in t if "msg" in x and x["dir"] == "to_plugin" and
          x["msg"].get("method") == "greet"]
with open(edited, "w") as f:
    for x in t:
        m = x.get("msg", {})
        # The kv_get and the host's answer to it (ids of the plugin's own
        # id space; the host's calls to it have their own).
        if (x.get("pid"), m.get("id")) in drop and (m.get("method") == "host.kv_get" or
                                                    (x["dir"] == "to_plugin" and "result" in m)):
            continue
        f.write(json.dumps(x) + "\n")
r = harness.run(ph, ["replay", edited, "--plugins", work] + volatile)
got = out_lines(r)
c.check(r.rc == 1 and len(greets) == 2 and
        any(x.startswith(f"greeter#{greets[0]} greeter.greet host_call[1]") for x in got) and
        not any(x.startswith(f"greeter#{greets[1]} ") for x in got),
        "one call's missing host call is reported for that call only", r.describe())

# 4. A missing plugin: skipped by default, an error with --require-all.
partial = harness.plugin_dir(os.path.join(args.plugins, "greeter.so"),
                             os.path.join(args.plugins, "echo.so"))
r = harness.run(ph, ["replay", serve_rec, "--plugins", partial] + volatile)
c.check(r.rc == 0 and b"textstats (recorded from textstats.so) is not loaded; skipped" in r.err,
        "a missing plugin is skipped and named", r.describe())
r = harness.run(ph, ["replay", serve_rec, "--plugins", partial, "--require-all"] + volatile)
c.check(r.rc == 3 and b"failing (--require-all)" in r.err,
        "--require-all: a missing plugin is an error (exit 3)", r.describe())

empty = harness.plugin_dir()
r = harness.run(ph, ["replay", serve_rec, "--plugins", empty])
c.check(r.rc == 3 and b"none of the recorded plugins is loaded" in r.err,
        "no recorded plugin loaded: exit 3, nothing proven", r.describe())
harness.remove_dir(empty)

# 5. Plugin files instead of a directory.
r = harness.run(ph, ["replay", call_rec] +
                [os.path.join(work, f) for f in ("greeter.so", "echo.so", "textstats.so")])
c.check(r.rc == 0 and b"0 difference(s)" in r.err, "replay with plugin files", r.describe())

# 6. A corrupt transcript: refused, with the line.
bad = os.path.join(tmp, "bad.jsonl")
with open(serve_rec) as f:
    text = f.read().splitlines()
text[4] = text[4][: len(text[4]) // 2]
with open(bad, "w") as f:
    f.write("\n".join(text) + "\n")
r = harness.run(ph, ["replay", bad, "--plugins", work])
c.check(r.rc == 9 and f"{bad}:5: not JSON".encode() in r.err,
        "a cut line: exit 9 and file:line", r.describe())
with open(bad, "w") as f:
    f.write("\n".join(text[1:]) + "\n")
r = harness.run(ph, ["replay", bad, "--plugins", work])
c.check(r.rc == 9 and f"{bad}:1: not a plughost transcript".encode() in r.err,
        "no header: exit 9 and file:line", r.describe())
r = harness.run(ph, ["replay", os.path.join(tmp, "none.jsonl"), "--plugins", work])
c.check(r.rc == 9 and b"No such file" in r.err, "a missing transcript: exit 9", r.describe())
r = harness.run(ph, ["replay", call_rec])
c.check(r.rc == 2, "replay without plugins: usage error", r.describe())
r = harness.run(ph, ["--record", os.path.join(tmp, "no", "dir.jsonl"), "call", work,
                     "echo.echo", "[1]"])
c.check(r.rc == 9 and b"--record" in r.err, "an unwritable --record file: exit 9", r.describe())

for d in (work, tmp, changed, partial):
    harness.remove_dir(d)
sys.exit(c.finish())
