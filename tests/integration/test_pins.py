#!/usr/bin/env python3
"""plughost pin and serve --mcp --pins: a pinned surface is offered; a
changed description, a changed params schema, or a changed file with the
same surface is not (left out of tools/list, its tools/call answered with
an error naming the change); an unpinned plugin is not offered unless
--allow-unpinned; renewing the pin and SIGHUP offers it again. Plain serve
and call refuse the same way."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import harness

args = harness.parse_args(__doc__)
c = harness.Checker("test_pins")
ph = args.plughost
echo = os.path.join(args.plugins, "echo.so")
d = harness.plugin_dir(echo, os.path.join(args.plugins, "textstats.so"))
tmp = harness.plugin_dir()
pins = os.path.join(tmp, "pins.json")

r = harness.run(ph, ["pin", d, "--output", pins])
c.check(r.rc == 0 and b"pinned 2 plugin(s)" in r.err, "pin writes the pins file", r.describe())
with open(pins) as f:
    doc = json.load(f)
e = doc.get("plugins", {}).get("echo.so", {})
c.check(doc.get("plughost_pins") == 1 and e.get("plugin") == "echo" and len(e.get("sha256", "")) ==
        64 and e.get("methods", {}).get("echo", {}).get("description") ==
        "returns its params unchanged", "the pin holds name, hash, descriptions", doc)
c.check("params_schema" in doc["plugins"]["textstats.so"]["methods"]["stats"],
        "the pin holds params schemas", doc["plugins"].get("textstats.so"))


class Mcp(harness.Session):
    def __init__(self, opts):
        super().__init__(ph, d, ["--mcp", "--pins", pins] + opts)
        self.n = 0
        self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                "clientInfo": {"name": "test_pins", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def rpc(self, method, params):
        self.n += 1
        self.send({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params})
        while True:
            m = self.recv()
            if m is None or m.get("id") == self.n:
                return m

    def tools(self):
        m = self.rpc("tools/list", {})
        return sorted(t["name"] for t in (m or {}).get("result", {}).get("tools", []))

    def call_echo(self):
        m = self.rpc("tools/call", {"name": "echo__echo", "arguments": {}})
        return (m or {}).get("result", {})


def put_echo(src):
    os.unlink(os.path.join(d, "echo.so"))  # a new inode: reload sees a changed file
    shutil.copy(src, os.path.join(d, "echo.so"))


# 1. Pinned surface: offered.
s = Mcp([])
c.check(s.tools() == ["echo__echo", "textstats__calc", "textstats__stats"],
        "pinned plugins are offered", s.stderr())
res = s.call_echo()
c.check(res.get("isError") is False, "a pinned tool answers", res)

# 2. The description changes behind the user's back (file replaced, SIGHUP).
put_echo(os.path.join(args.variants, "echo_v2.so"))
s.p.send_signal(signal.SIGHUP)
c.check(s.wait_stderr("reloaded"), "SIGHUP reloads", s.stderr())
c.check(s.wait_stderr("method echo: description changed"),
        "the change is said on stderr", s.stderr())
c.check(s.tools() == ["textstats__calc", "textstats__stats"],
        "a changed plugin is left out of tools/list", s.stderr())
res = s.call_echo()
text = (res.get("content") or [{}])[0].get("text", "")
c.check(res.get("isError") is True and "method echo: description changed" in text and
        "plughost pin" in text, "its tools/call is an error naming the change and the renewal",
        res)

# 3. Renew the pin, SIGHUP: offered again.
r = harness.run(ph, ["pin", os.path.join(d, "echo.so"), "--output", pins])
c.check(r.rc == 0, "pin renews one plugin", r.describe())
with open(pins) as f:
    doc = json.load(f)
c.check(sorted(doc["plugins"]) == ["echo.so", "textstats.so"],
        "renewing one plugin keeps the others' pins", doc)
s.p.send_signal(signal.SIGHUP)
end = time.monotonic() + 10
while s.stderr().count("reloaded") < 2 and time.monotonic() < end:
    time.sleep(0.02)
c.check(s.stderr().count("reloaded") >= 2, "second SIGHUP reloads", s.stderr())
c.check(s.tools() == ["echo__echo", "textstats__calc", "textstats__stats"],
        "after renewal the plugin is offered again", s.stderr())
res = s.call_echo()
c.check(res.get("isError") is False, "and answers", res)
c.check(s.close() == 0, "serve exits 0", s.stderr())

# 4. A schema change, and a changed file with the same surface.
put_echo(echo)
r = harness.run(ph, ["pin", d, "--output", pins])
c.check(r.rc == 0, "pin the original echo again", r.describe())
put_echo(os.path.join(args.variants, "echo_v3.so"))
s = Mcp([])
s.wait_stderr("params schema changed")
c.check(s.tools() == ["textstats__calc", "textstats__stats"] and
        "params note changed" not in s.stderr() and
        "method echo: params schema changed" in s.stderr() and
        "description changed" not in s.stderr(), "a changed schema: not offered, named",
        s.stderr())
s.close()
put_echo(echo)
with open(os.path.join(d, "echo.so"), "ab") as f:
    f.write(b"\0")  # the same code and surface, another file
s = Mcp([])
s.wait_stderr("file changed")
c.check("echo__echo" not in s.tools() and "file changed (sha256 pinned" in s.stderr() and
        "method echo" not in s.stderr(), "a changed file: not offered, named", s.stderr())
s.close()

# 5. Unpinned: not offered, unless --allow-unpinned.
with open(pins) as f:
    doc = json.load(f)
del doc["plugins"]["echo.so"]
with open(pins, "w") as f:
    json.dump(doc, f)
s = Mcp([])
s.wait_stderr("is not pinned")
c.check(s.tools() == ["textstats__calc", "textstats__stats"] and
        "echo.so is not pinned" in s.stderr(), "an unpinned plugin is not offered", s.stderr())
s.close()
s = Mcp(["--allow-unpinned"])
c.check("echo__echo" in s.tools(), "--allow-unpinned offers it", s.stderr())
s.close()

# 6. Plain serve and call refuse the same way; a bad pins file names file:line:column.
r = harness.run(ph, ["--pins", pins, "call", d, "echo.echo", "[1]"])
err = r.last_error() or {}
c.check(r.rc == 3 and err.get("code") == -32003 and
        "echo.so is not pinned" in err.get("data", {}).get("pin_changes", [""])[0],
        "call --pins: refused with -32003 and the change", r.describe())
r = harness.run(ph, ["--pins", pins, "--json", "list", d])
listed = {p["name"]: p for p in json.loads(r.out or b"{}").get("plugins", [])}
c.check(r.rc == 0 and listed.get("echo", {}).get("pin") == "changed" and
        listed.get("textstats", {}).get("pin") == "ok" and
        listed["echo"].get("pin_changes") == ["echo.so is not pinned"],
        "list --pins --json: each plugin's pin state and changes", r.describe())
req = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo.echo", "params": [1]}) + "\n"
r = harness.run(ph, ["--pins", pins, "serve", d], stdin=req.encode())
ans = json.loads(r.out.splitlines()[0]) if r.out else {}
c.check(ans.get("error", {}).get("code") == -32003, "serve --pins: refused", r.describe())
# serve --listen: the same refusal on a socket client.
sock = os.path.join(tmp, "s.sock")
srv = subprocess.Popen([ph, "--pins", pins, "serve", "--listen", sock, d],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
end = time.monotonic() + 10
while not os.path.exists(sock) and time.monotonic() < end:
    time.sleep(0.02)
ans = {}
try:
    cl = socket.socket(socket.AF_UNIX)
    cl.settimeout(10)
    # The file exists from bind(), an instant before listen(): a connect in
    # between is refused, so refusals are retried until the deadline.
    while True:
        try:
            cl.connect(sock)
            break
        except ConnectionRefusedError:
            if time.monotonic() >= end:
                raise
            time.sleep(0.02)
    cl.sendall(req.encode())
    ans = json.loads(cl.makefile().readline() or "{}")
    cl.close()
except (OSError, ValueError) as e:
    ans = {"exception": str(e)}
srv.send_signal(signal.SIGTERM)
srv.wait(timeout=30)
c.check(ans.get("error", {}).get("code") == -32003 and
        "not pinned" in ans["error"].get("message", ""), "serve --listen --pins: refused", ans)
bad = os.path.join(tmp, "bad.json")
with open(bad, "w") as f:
    f.write('{"plughost_pins": 1,\n  "plugins": {,}}\n')
r = harness.run(ph, ["--pins", bad, "serve", d], stdin=req.encode())
c.check(r.rc == 9 and f"{bad}:2:".encode() in r.err, "a broken pins file: file:line:column",
        r.describe())
with open(bad, "w") as f:
    f.write('{"plughost_pins": 1, "plugins": {"echo.so": {"plugin": "echo", "sha256": "x"}}}')
r = harness.run(ph, ["--pins", bad, "serve", d], stdin=req.encode())
c.check(r.rc == 9 and b"sha256: must be 64" in r.err, "a wrong pin is named", r.describe())

harness.remove_dir(d)
harness.remove_dir(tmp)
sys.exit(c.finish())
