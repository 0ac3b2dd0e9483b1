#!/usr/bin/env python3
"""plughost --record and plughost replay: a call and a serve session with
greeter (host functions, logs, notifications, progress, a cancellation),
textstats and echo are recorded; replayed against the same build they show
no difference; against a changed echo every change is reported exactly; a
corrupt transcript is refused with its line number. Pools: a session with
`instances: 2` and one with `isolate: "call"` (and a spare), under
concurrent calls, name every line's process (slot, proc), record each
process's handshake, replay with no difference, and a changed build's
differences are reported per process."""

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


def inst(t, plugin):
    """How a difference names the one recorded process of plugin."""
    procs = {(x["slot"], x["proc"]) for x in t[1:] if x.get("plugin") == plugin}
    if len(procs) != 1:
        return f"(processes {sorted(procs)})"
    slot, proc = procs.pop()
    return f"(slot {slot}, process {proc})"


# 1. A call, recorded and replayed.
call_rec = os.path.join(tmp, "call.jsonl")
r = harness.run(ph, ["--record", call_rec, "call", work, "greeter.greet", '{"name":"Ann"}'])
c.check(r.rc == 0, "call --record: the call works", r.describe())
t = lines(call_rec)
c.check(t[0].get("plughost_transcript") == 2 and t[0].get("plughost"), "header line first",
        t[0])
c.check(all(isinstance(x.get("slot"), int) and isinstance(x.get("proc"), int) for x in t[1:]),
        "every line names its process (slot, proc)", [x for x in t[1:] if "proc" not in x][:3])
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
c.check(r.rc == 0 and r.out == b"" and b"8 call(s) to 3 plugin(s) in 3 process(es), 0 difference(s)" in r.err,
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
e_inst = inst(t, "echo")
want = [
    f'echo {e_inst} hello.methods.echo.description: recorded "returns its params unchanged", '
    'now "returns its params, mostly unchanged"',
    f'echo#{i_changed} echo.echo {e_inst} result[0]: recorded "changed", now "CHANGED"',
    f'echo#{i_ask} echo.echo {e_inst} result: recorded ["ask"], now (nothing)',
    f'echo#{i_ask} echo.echo {e_inst} host_call: recorded (nothing), now '
    '[{"method":"host.version","params":null}]',
]
c.check(r.rc == 1, "replay against a changed echo: exit 1", r.describe())
c.check(b"echo: another build (sha256" in r.err and b"greeter: the recorded build" in r.err,
        "stderr says which plugins are another build", r.describe())
for w in want:
    c.check(w in got, f"reported: {w[:70]}", "\n".join(got))
err = [x for x in got if x.startswith(f"echo#{i_ask} echo.echo {e_inst} error:")]
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
echo_line = next(x for x in t[1:] if x.get("plugin") == "echo")
c.check(j == [{"where": f"echo#{i_changed} echo.echo", "slot": 0, "process": echo_line["proc"],
               "pid": echo_line["pid"], "path": "result[0]", "recorded": "changed",
               "now": "CHANGED"}], "--json: one object a difference, with its process",
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
g_inst = inst(t, "greeter")
c.check(r.rc == 1 and len(greets) == 2 and
        any(x.startswith(f"greeter#{greets[0]} greeter.greet {g_inst} host_call[1]")
            for x in got) and
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

# A transcript of another format version: refused, saying which it reads.
old = os.path.join(tmp, "v1.jsonl")
with open(old, "w") as f:
    f.write(json.dumps({"plughost_transcript": 1, "plughost": "0.1.0", "protocol": 1,
                        "plugins": []}) + "\n")
r = harness.run(ph, ["replay", old, "--plugins", work])
c.check(r.rc == 9 and b"version 1 not supported (this plughost reads version 2" in r.err,
        "a version 1 transcript: exit 9, the versions named", r.describe())


# 7. Pools: several processes of one plugin at once, their lines interleaved.
def pool_session(name, config, reqs):
    """Records reqs, pipelined through serve under config; returns the
    transcript's lines and the answers."""
    conf = os.path.join(tmp, name + ".json")
    with open(conf, "w") as f:
        json.dump(config, f)
    rec = os.path.join(tmp, name + ".jsonl")
    stdin = "".join(json.dumps(dict(jsonrpc="2.0", id=i + 1, method=m, params=p)) + "\n"
                    for i, (m, p) in enumerate(reqs))
    r = harness.run(ph, ["--config", conf, "--record", rec, "serve", work], stdin=stdin.encode())
    answers = [a for a in map(json.loads, r.out.splitlines()) if "id" in a]
    c.check(r.rc == 0 and len(answers) == len(reqs) and all("result" in a for a in answers),
            f"{name}: serve --record answers every call", r.describe())
    return conf, rec, lines(rec)


def replayable(t):
    """The processes replay replays: those with a handshake or a call."""
    return len({x["proc"] for x in t[1:] if "msg" in x and (
        x["msg"].get("method") == "ph.hello" or
        (x["dir"] == "to_plugin" and "id" in x["msg"] and
         x["msg"].get("method", "ph.")[:3] != "ph."))})


def consistent(name, t, plugin, slots):
    """Every line names its process; each process keeps one slot, pid and
    plugin, has its handshake recorded before its first call, and every
    answer comes from the process the call was sent to. Returns
    {proc: [call ids sent to it]}."""
    body = t[1:]
    c.check(all(isinstance(x.get("slot"), int) and isinstance(x.get("proc"), int) and
                isinstance(x.get("pid"), int) for x in body),
            f"{name}: every line names its slot, proc and pid",
            [x for x in body if not isinstance(x.get("proc"), int)][:2])
    ident, bad, calls, sent_to = {}, [], {}, {}
    hello, started = set(), set()
    for x in body:
        key = (x["slot"], x["pid"], x["file"])
        if ident.setdefault(x["proc"], key) != key:
            bad.append(("identity", x["seq"]))
        if x.get("type") == "plugin":
            started.add(x["proc"])
            continue
        if x.get("plugin") not in (plugin, None):
            continue
        m = x.get("msg", {})
        if x["dir"] == "from_plugin" and m.get("method") == "ph.hello":
            hello.add(x["proc"])
        elif x["dir"] == "to_plugin" and "id" in m and m.get("method", "ph.")[:3] != "ph.":
            if x["proc"] not in hello:
                bad.append(("call before its process's handshake", x["seq"]))
            calls.setdefault(x["proc"], []).append(m["id"])
            sent_to[m["id"]] = x["proc"]
        elif x["dir"] == "from_plugin" and "method" not in m and "id" in m:
            if sent_to.get(m["id"]) != x["proc"]:
                bad.append(("answer from another process", x["seq"]))
    mine = {x["proc"] for x in body if x.get("plugin") == plugin}
    c.check(not bad, f"{name}: each process keeps one identity, and answers its own calls",
            bad[:5])
    # A spare may be stopped with the host before its handshake: it got no
    # call (checked above: no call before a handshake).
    c.check(set(calls) <= hello and hello <= started and (mine & hello) == (mine & started),
            f"{name}: every process of {plugin} that served has its handshake and plugin line "
            "recorded", (sorted(mine), sorted(hello), sorted(started)))
    used = {ident[p][0] for p in calls}
    c.check(used == set(range(slots)), f"{name}: {plugin}'s calls ran in slots {used}",
            calls)
    return calls


# instances: 2, greeter: slow calls keep one instance busy while the
# others queue, so the second starts and serves some of them.
reqs = [("greeter.slow", {"n": 10}), ("greeter.greet", {"name": "P1"}),
        ("greeter.slow", {"n": 10}), ("greeter.greet", {"name": "P2"}),
        ("greeter.greet", {"name": "P3"}), ("greeter.slow", {"n": 5}),
        ("greeter.greet", {"name": "P4"}), ("greeter.greet", {"name": "P5"})]
conf2, rec2, t2 = pool_session("pool2", {"plugins": {"greeter.so": {"instances": 2}}}, reqs)
calls2 = consistent("instances 2", t2, "greeter", 2)
c.check(sum(len(v) for v in calls2.values()) == len(reqs), "instances 2: every call recorded",
        calls2)
r = harness.run(ph, ["--config", conf2, "replay", rec2, "--plugins", work])
nproc = replayable(t2)
c.check(r.rc == 0 and r.out == b"" and
        f"{len(reqs)} call(s) to 3 plugin(s) in {nproc} process(es), 0 difference(s)".encode()
        in r.err, "instances 2: replay against the same build, each process against its own, "
        "no difference", r.describe())

# isolate "call" with a spare, echo: every call in a process of its own.
reqs = [("echo.echo", ["p%d" % i]) for i in range(5)]
reqs[1] = ("echo.echo", ["changed"])
reqs[3] = ("echo.echo", ["ask"])
conf3, rec3, t3 = pool_session(
    "call", {"plugins": {"echo.so": {"isolate": "call", "instances": 2, "spares": 1}}}, reqs)
calls3 = consistent("isolate call", t3, "echo", 2)
c.check(len(calls3) == len(reqs) and all(len(v) == 1 for v in calls3.values()),
        "isolate call: each echo process was sent one call", calls3)
r = harness.run(ph, ["--config", conf3, "replay", rec3, "--plugins", work])
echo_procs = sorted({x["proc"] for x in t3[1:] if x.get("plugin") == "echo" and
                     x.get("msg", {}).get("method") == "ph.hello"})
nproc = replayable(t3)
c.check(r.rc == 0 and r.out == b"" and
        f"{len(reqs)} call(s) to 3 plugin(s) in {nproc} process(es), 0 difference(s)".encode()
        in r.err, "isolate call: replay against the same build, no difference", r.describe())
# Without --config: the replay host's choice of process never enters into it.
r = harness.run(ph, ["replay", rec3, "--plugins", work])
c.check(r.rc == 0 and b" 0 difference(s)" in r.err,
        "isolate call: replayed without the pool's configuration, no difference", r.describe())

# Against the changed echo: the differences of each process, named by it.
r = harness.run(ph, ["--json", "replay", rec3, "--plugins", changed])
j = [json.loads(x) for x in out_lines(r)]
c.check(r.rc == 1, "isolate call: replay against a changed echo: exit 1", r.describe())
ident = {x["proc"]: (x["slot"], x["pid"]) for x in t3[1:]}
served = {ids[0]: p for p, ids in calls3.items()}
ids3 = {json.dumps(x["msg"]["params"]): x["msg"]["id"] for x in t3[1:]
        if "msg" in x and x["plugin"] == "echo" and x["msg"].get("method") == "echo"}
hello_d = sorted(e["process"] for e in j if e["path"].startswith("hello."))
c.check(hello_d == echo_procs,
        "the changed handshake is reported once for each echo process whose handshake was "
        "recorded",
        (hello_d, echo_procs))
for params, path, rec_v, now_v in [('["changed"]', "result[0]", "changed", "CHANGED"),
                                   ('["ask"]', "result", ["ask"], None)]:
    cid = ids3.get(params)
    p = served.get(cid)
    got = [e for e in j if e["where"] == f"echo#{cid} echo.echo" and e["path"] == path]
    c.check(len(got) == 1 and got[0]["process"] == p and
            (got[0]["slot"], got[0]["pid"]) == ident.get(p) and got[0]["recorded"] == rec_v and
            got[0].get("now") == now_v,
            f"echo#{cid} {params}: its difference names the process that served it "
            f"(slot {ident.get(p, ('?',))[0]}, process {p})", got)
others = [e for e in j if not e["path"].startswith("hello.") and
          e["where"] not in (f"echo#{ids3.get(q)} echo.echo" for q in ('["changed"]', '["ask"]'))]
c.check(not others, "no other call of the changed echo differs", others)
r = harness.run(ph, ["replay", rec3, "--plugins", changed, "--ignore-handshake"])
cid = ids3.get('["changed"]')
p = served.get(cid)
slot = ident.get(p, ("?",))[0]
want = (f'echo#{cid} echo.echo (slot {slot}, process {p}) result[0]: recorded "changed", '
        'now "CHANGED"')
c.check(want in out_lines(r), "the text line names the slot and process", r.describe())

# A process stopped while starting (no handshake, no call) has nothing to
# replay: said, and not counted as a difference.
edited = os.path.join(tmp, "unstarted.jsonl")
last = max(x["proc"] for x in t3[1:])
with open(edited, "w") as f:
    for x in t3:
        f.write(json.dumps(x) + "\n")
    f.write(json.dumps({"seq": len(t3), "t_ms": 0, "plugin": "echo", "file": "echo.so",
                        "pid": 999999, "slot": 1, "proc": last + 1, "dir": "from_plugin",
                        "msg": {"jsonrpc": "2.0", "method": "ph.sandbox", "params": {}}}) + "\n")
# A spare still starting when the recording host stopped is one such too.
unstarted = len({x["proc"] for x in t3[1:]}) - replayable(t3) + 1
r = harness.run(ph, ["replay", edited, "--plugins", work])
c.check(r.rc == 0 and
        f"{unstarted} process(es) neither finished a handshake nor got a call".encode() in r.err and
        f"in {replayable(t3)} process(es), 0 difference(s)".encode() in r.err,
        "a process stopped while starting is named and not replayed", r.describe())
# Lines of one process that disagree on its identity cannot be taken apart
# into streams: refused, never mis-paired.
with open(edited, "w") as f:
    for n, x in enumerate(t3):
        if n == len(t3) - 1 and "pid" in x:
            x = dict(x, pid=x["pid"] + 1)
        f.write(json.dumps(x) + "\n")
r = harness.run(ph, ["replay", edited, "--plugins", work])
c.check(r.rc == 9 and b'has another "pid" than on its earlier lines' in r.err,
        "a process whose lines disagree: refused (exit 9)", r.describe())

for d in (work, tmp, changed, partial):
    harness.remove_dir(d)
sys.exit(c.finish())
