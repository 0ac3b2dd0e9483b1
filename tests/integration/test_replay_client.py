#!/usr/bin/env python3
"""plughost --record on `serve --listen` under `isolate: "client"`: two
clients, each with processes of its own, recorded into one transcript;
every line names its process, each process's calls are one client's, and
replay takes the processes apart: no difference against the same build,
and against a changed echo the difference names the process that served
the client that sent the call. Runs inside a pid namespace (it starts and
signals a server)."""

import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_serve_listen import Conn, Server, req  # noqa: E402

args = harness.parse_args(__doc__)
c = harness.Checker("test_replay_client")
ph = args.plughost
work = harness.plugin_dir(*(os.path.join(args.plugins, f)
                            for f in ("echo.so", "greeter.so", "textstats.so")))
tmp = tempfile.mkdtemp(prefix="ph-replay-client-")
config = os.path.join(tmp, "conf.json")
with open(config, "w") as f:
    json.dump({"plugins": {"echo.so": {"isolate": "client", "instances": 4}}}, f)
rec = os.path.join(tmp, "run.jsonl")
sock = os.path.join(tmp, "s.sock")

srv = Server(ph, work, sock, opts=["--config", config, "--record", rec, "--listen", sock])
a, b = Conn(sock), Conn(sock)
sent = {"A": [["A1"], ["A2"]], "B": [["B1"], ["changed"]]}
# Interleaved: each client's calls in flight while the other's are.
a.send(req(1, "echo.echo", sent["A"][0]))
b.send(req(1, "echo.echo", sent["B"][0]))
a.send(req(2, "echo.echo", sent["A"][1]))
b.send(req(2, "echo.echo", sent["B"][1]))
got = [a.answer(1), a.answer(2), b.answer(1), b.answer(2)]
a.close()
b.close()
c.check([g and g.get("result") for g in got] == sent["A"] + sent["B"],
        "each client gets its answers", got)
c.check(srv.stop() == 0, "the server stops cleanly", srv.stderr())

with open(rec) as f:
    t = [json.loads(x) for x in f if x.strip()]
c.check(t and t[0].get("plughost_transcript") == 2, "a version 2 transcript", t[:1])
c.check(all(isinstance(x.get("slot"), int) and isinstance(x.get("proc"), int) for x in t[1:]),
        "every line names its slot and proc", [x for x in t[1:] if "proc" not in x][:2])
calls = {}
for x in t[1:]:
    m = x.get("msg", {})
    if x.get("plugin") == "echo" and x.get("dir") == "to_plugin" and m.get("method") == "echo":
        calls.setdefault(x["proc"], []).append(m["params"][0])
client_of = {v[0]: k for k, vs in sent.items() for v in vs}
c.check(sorted(sum(calls.values(), [])) == ["A1", "A2", "B1", "changed"] and len(calls) >= 2 and
        all(len({client_of[v] for v in vs}) == 1 for vs in calls.values()),
        "each echo process was sent the calls of one client only", calls)

r = harness.run(ph, ["--config", config, "replay", rec, "--plugins", work])
c.check(r.rc == 0 and r.out == b"" and b"4 call(s)" in r.err and b" 0 difference(s)" in r.err,
        "replay against the same build: no difference", r.describe())

changed = harness.plugin_dir(os.path.join(args.plugins, "greeter.so"),
                             os.path.join(args.plugins, "textstats.so"))
shutil.copy(os.path.join(args.variants, "echo_v2.so"), os.path.join(changed, "echo.so"))
r = harness.run(ph, ["--json", "replay", rec, "--plugins", changed, "--ignore-handshake"])
j = [json.loads(x) for x in r.out.decode().splitlines()]
served = [x for x in t[1:] if x.get("plugin") == "echo" and x.get("dir") == "to_plugin" and
          x.get("msg", {}).get("params") == ["changed"]]
want = served[0] if served else {}
c.check(r.rc == 1 and len(j) == 1 and j[0].get("path") == "result[0]" and
        (j[0].get("slot"), j[0].get("process"), j[0].get("pid")) ==
        (want.get("slot"), want.get("proc"), want.get("pid")),
        "against a changed echo: one difference, named by the process that served client B",
        (j, want))

harness.remove_dir(work)
harness.remove_dir(changed)
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(c.finish())
