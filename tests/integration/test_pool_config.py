#!/usr/bin/env python3
"""The pool settings (instances, spares, isolate, idle_stop_ms) in the
configuration's `defaults` and per plugin: `check-config` accepts them and
refuses each bad value with its place, the rule and the value; a manifest
still may not ask for a pool; and in a running `serve --listen` every
default applies to a plugin without an entry of its own while a plugin's
entry overrides it (seen through `plughost/status` and `list --json`).
Runs inside a pid namespace."""

import json
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_serve_listen import Conn, Server, req  # noqa: E402

args = harness.parse_args(__doc__)
c = harness.Checker("test_pool_config")
ph = args.plughost
work = harness.plugin_dir(*(os.path.join(args.plugins, f)
                            for f in ("echo.so", "greeter.so", "textstats.so")))
tmp = tempfile.mkdtemp(prefix="ph-poolconf-")


def conf(name, value):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(value if isinstance(value, str) else json.dumps(value))
    return path


# 1. check-config: every pool setting in defaults, each overridden per plugin.
good = conf("good.json", {
    "defaults": {"instances": 3, "spares": 2, "isolate": "call", "idle_stop_ms": 300},
    "plugins": {"echo.so": {"instances": 1, "spares": 0, "isolate": "none",
                            "idle_stop_ms": 600000},
                "greeter.so": {"isolate": "client"}}})
r = harness.run(ph, ["check-config", good])
c.check(r.rc == 0 and b"ok (2 plugin entries, 4 defaults" in r.out,
        "check-config: pool settings in defaults and overridden per plugin", r.describe())
for v in ("none", "call", "client"):
    r = harness.run(ph, ["check-config", conf("iso.json", {"defaults": {"isolate": v}})])
    c.check(r.rc == 0, f"check-config: defaults.isolate \"{v}\"", r.describe())

# Each bad value: exit 2, FILE:LINE:COLUMN, the key's path, the rule and
# the value refused.
bad = [
    ('{"defaults": {"isolate": "calls"}}',
     'defaults.isolate: must be "none", "call" or "client", got "calls"'),
    ('{"defaults": {"isolate": 1}}', 'defaults.isolate: must be "none", "call" or "client", got 1'),
    ('{"defaults": {"isolate": null}}',
     'defaults.isolate: must be "none", "call" or "client", got null'),
    ('{"defaults": {"instances": 0}}', "defaults.instances: must be an integer from 1 to 64, got 0"),
    ('{"defaults": {"instances": 65}}',
     "defaults.instances: must be an integer from 1 to 64, got 65"),
    ('{"defaults": {"instances": 2.5}}',
     "defaults.instances: must be an integer from 1 to 64, got 2.5"),
    ('{"defaults": {"spares": -1}}', "defaults.spares: must be an integer from 0 to 64, got -1"),
    ('{"defaults": {"spares": 65}}', "defaults.spares: must be an integer from 0 to 64, got 65"),
    ('{"defaults": {"idle_stop_ms": 0}}',
     "defaults.idle_stop_ms: must be a positive integer, at most 4294967295, got 0"),
    ('{"defaults": {"idle_stop_ms": "5s"}}',
     'defaults.idle_stop_ms: must be a positive integer, at most 4294967295, got "5s"'),
    ('{"defaults": {"idle_stop_ms": 4294967296}}',
     "defaults.idle_stop_ms: must be a positive integer, at most 4294967295, got 4294967296"),
    ('{"defaults": {"isolate": "\\u001b[2J"}}',
     'defaults.isolate: must be "none", "call" or "client", got "\\u001B[2J"'),
    ('{"plugins": {"echo.so": {"isolate": "sometimes"}}}',
     'plugins.echo.so.isolate: must be "none", "call" or "client", got "sometimes"'),
    ('{"plugins": {"echo.so": {"spares": 65}}}',
     "plugins.echo.so.spares: must be an integer from 0 to 64, got 65"),
    ('{"plugins": {"echo.so": {"instances": 0}}}',
     "plugins.echo.so.instances: must be an integer from 1 to 64, got 0"),
    ('{"defaults": {"isolation": "call"}}', "defaults.isolation: unknown setting"),
]
for text, want in bad:
    path = conf("bad.json", text)
    r = harness.run(ph, ["check-config", path])
    c.check(r.rc == 2 and f"{path}:1:".encode() in r.err and want.encode() in r.err,
            f"check-config refuses {text}", r.describe())
# A long value is cut, so the message stays a line.
path = conf("long.json", {"defaults": {"isolate": "x" * 500}})
r = harness.run(ph, ["check-config", path])
c.check(r.rc == 2 and b'got "' + b"x" * 39 + b"..." in r.err and len(r.err) < 300,
        "a long bad value is cut short", r.describe())

# A manifest asks for what a plugin needs; its pool is the operator's.
man = harness.plugin_dir(os.path.join(args.plugins, "echo.so"))
for need in ({"isolate": "none"}, {"spares": 1}, {"instances": 2}, {"idle_stop_ms": 5}):
    with open(os.path.join(man, "echo.manifest.json"), "w") as f:
        json.dump({"needs": need}, f)
    r = harness.run(ph, ["list", man])
    key = next(iter(need))
    c.check(r.rc == 3 and f"needs.{key}: the pool is the operator's choice".encode() in
            r.out + r.err, f"a manifest asking for {key} is refused", r.describe())
harness.remove_dir(man)


# 2. A running host: textstats has no entry and takes every default; echo
# overrides every one; greeter overrides isolate and spares and keeps the
# defaults' instances and idle_stop_ms.
def status(sock):
    conn = Conn(sock)
    conn.send(req(99, "plughost/status"))
    m = conn.answer(99)
    conn.close()
    return {p["name"]: p for p in ((m or {}).get("result") or {}).get("plugins", [])}


def ready(p):
    return [i for i in p.get("instances", []) if i.get("state") == "ready"]


def poll(sock, ok, timeout=10):
    """Status until ok(status) holds (or the time is up); the last one."""
    end = time.monotonic() + timeout
    while True:
        st = status(sock)
        if ok(st) or time.monotonic() > end:
            return st
        time.sleep(0.05)


def run(config, name):
    sock = os.path.join(tmp, name + ".sock")
    srv = Server(ph, work, sock, opts=["--config", config, "--listen", sock])
    return srv, sock


# idle_stop_ms long enough that the status asked right after the calls
# still sees the second instance, even on a loaded machine.
defaults = {"instances": 3, "spares": 2, "isolate": "call", "idle_stop_ms": 1000}
entries = {"echo.so": {"instances": 1, "spares": 0, "isolate": "none"},
           "greeter.so": {"isolate": "none", "spares": 0}}
config = conf("run.json", {"defaults": defaults, "plugins": entries})

r = harness.run(ph, ["--config", config, "list", "--json", work])
listed = {p["name"]: p for p in json.loads(r.out or b"{}").get("plugins", [])} if r.rc == 0 else {}
c.check({n: p.get("max_instances") for n, p in listed.items()} ==
        {"textstats": 3, "greeter": 3, "echo": 1},
        "instances: the default's 3 for textstats and greeter, echo's own 1", r.describe())

srv, sock = run(config, "run")
st = poll(sock, lambda s: len(ready(s.get("textstats", {}))) >= 2)
c.check(len(ready(st.get("textstats", {}))) == 2,
        "spares: the default's 2 started ahead for textstats", st.get("textstats"))
c.check(len(st.get("echo", {}).get("instances", [])) == 1 and
        len(st.get("greeter", {}).get("instances", [])) == 1,
        "spares: echo's and greeter's own 0, one process each", st)

# isolate: the default's "call" ends textstats' process after its call; echo's
# own "none" serves both calls in one.
before = {i["pid"] for i in st.get("textstats", {}).get("instances", [])}
echo_pid = [i["pid"] for i in st.get("echo", {}).get("instances", [])]
conn = Conn(sock)
answers = []
for i, (m, p) in enumerate([("textstats.stats", {"text": "a b"}), ("echo.echo", [1]),
                            ("echo.echo", [2])]):
    conn.send(req(i + 1, m, p))
    answers.append(conn.answer(i + 1))
conn.close()
c.check(all(a and "result" in a for a in answers), "the calls are answered", answers)
st = poll(sock, lambda s: len(ready(s.get("textstats", {}))) >= 2 and
          sum(i.get("calls_served", 0) for i in s.get("textstats", {}).get("instances", [])) == 0)
served = [i for i in st.get("textstats", {}).get("instances", []) if i.get("calls_served")]
now = {i["pid"] for i in st.get("textstats", {}).get("instances", [])}
c.check(not served and len(before - now) == 1,
        "isolate: the default's \"call\" ended the textstats process that served", (before, now))
ei = st.get("echo", {}).get("instances", [])
c.check(len(ei) == 1 and [ei[0].get("pid")] == echo_pid and
        st.get("echo", {}).get("calls_served") == 2,
        "isolate: echo's own \"none\" served both calls in its one process", (echo_pid, ei))


def two_slow(sock):
    """Two greeter calls at once, from two clients: the pool starts a
    second instance."""
    conns = [Conn(sock), Conn(sock)]
    for i, conn in enumerate(conns):
        conn.send(req(i + 1, "greeter.slow", {"n": 20}))
    got = [conn.answer(i + 1) for i, conn in enumerate(conns)]
    for conn in conns:
        conn.close()
    return got


# idle_stop_ms: the default's 1000 ms stops greeter's second instance.
got = two_slow(sock)
st = status(sock)
c.check(all(a and "result" in a for a in got) and
        len(st.get("greeter", {}).get("instances", [])) == 2,
        "instances: greeter ran two at once (the default's 3 allows it)", st.get("greeter"))
st = poll(sock, lambda s: len(s.get("greeter", {}).get("instances", [])) == 1)
c.check(len(st.get("greeter", {}).get("instances", [])) == 1,
        "idle_stop_ms: the default's 1000 ms stopped greeter's idle second instance",
        st.get("greeter"))
srv.stop()

# ... and greeter's own idle_stop_ms keeps it.
entries["greeter.so"]["idle_stop_ms"] = 600000
config = conf("run2.json", {"defaults": defaults, "plugins": entries})
srv, sock = run(config, "run2")
got = two_slow(sock)
time.sleep(2.5)  # past the default's idle_stop_ms
st = status(sock)
c.check(all(a and "result" in a for a in got) and
        len(ready(st.get("greeter", {}))) == 2,
        "idle_stop_ms: greeter's own 600000 ms keeps its second instance past the default's",
        st.get("greeter"))
srv.stop()

harness.remove_dir(work)
harness.remove_dir(tmp)
sys.exit(c.finish())
