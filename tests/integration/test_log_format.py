#!/usr/bin/env python3
"""--log-format json: every line plughost writes on stderr (list, call,
serve on stdio and on a socket) is one JSON object with time (RFC 3339, UTC,
milliseconds), level, event and fields, and plugin where the line is about
one; a hostile plugin's text (tests/isolation/plugins/hostile_text.c:
newline forgery, ESC, CR, DEL, C1, U+202E, U+2028) is in it whole but only
as JSON escapes, never a raw byte; the configuration's "log_format" does
the same; text stays the default."""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

EVIL = ("\n[echo] info: forged\x1b[2K\r\x1b]0;title\x07\x1b[6n\r\x7f\u009b\u202e\u2028end")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"debug", "info", "warn", "error"}
# Generous: a busy machine must not turn a slow start into a failed check.
SLOW_OK = ["--handshake-timeout", "20000"]


def raw_bytes(data):
    """Bytes a terminal or a line-based reader would act on: controls but
    the newline ending each line, DEL, anything not ASCII."""
    return sorted({b for b in data if (b < 0x20 and b != 0x0a) or b >= 0x7f})


def json_lines(t, what, err, want_events=()):
    """Checks every stderr line; returns the parsed objects."""
    bad = raw_bytes(err)
    t.check(not bad, f"{what}: stderr is printable ASCII",
            f"bytes {[hex(b) for b in bad]}\n{err[:1500]!r}")
    objs, broken = [], []
    for line in err.decode("ascii", "replace").split("\n")[:-1]:
        try:
            o = json.loads(line)
        except ValueError:
            broken.append(line)
            continue
        ok = (isinstance(o, dict) and isinstance(o.get("time"), str)
              and TIME.match(o["time"]) and o.get("level") in LEVELS
              and isinstance(o.get("event"), str) and isinstance(o.get("fields"), dict)
              and ("plugin" not in o or isinstance(o["plugin"], str))
              and set(o) <= {"time", "level", "plugin", "event", "fields"})
        (objs if ok else broken).append(o if ok else line)
    t.check(err.endswith(b"\n") or not err, f"{what}: stderr ends with a whole line", err[-200:])
    t.check(objs and not broken, f"{what}: every stderr line is a log object ({len(objs)})",
            "\n".join(map(str, broken[:5])) + f"\n{err[:1500]!r}")
    events = {o["event"] for o in objs}
    for ev in want_events:
        t.check(ev in events, f"{what}: has a {ev!r} line", sorted(events))
    return objs


def evil_logs(objs):
    return [o for o in objs if o["event"] == "log" and o["fields"].get("message") == EVIL]


def listen_run(t, ph, hostile, tmp):
    path = os.path.join(tmp, "sock")
    errpath = os.path.join(tmp, "listen.err")
    with open(errpath, "wb") as errf:
        sv = subprocess.Popen([ph, "--log-format", "json"] + SLOW_OK +
                              ["serve", "--listen", path, hostile],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    got = b""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(errpath, "rb") as f:
                if b'"event":"listening"' in f.read():
                    break
            time.sleep(0.05)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(30)
        c.connect(path)
        for i, m in enumerate(("log", "notify", "fail"), 1):
            c.sendall(json.dumps({"jsonrpc": "2.0", "id": i,
                                  "method": "hostile_text." + m}).encode() + b"\n")
        while got.count(b'"id":') < 3:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
        c.close()
    except OSError as e:
        t.check(False, "serve --listen answers", f"{e}: {got[:500]!r}")
    finally:
        time.sleep(0.2)  # the disconnect's line
        sv.terminate()
        try:
            sv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sv.kill()
            sv.wait()
    with open(errpath, "rb") as f:
        err = f.read()
    t.check(got.count(b'"id":') >= 3, "serve --listen answers every request", got[:1000])
    objs = json_lines(t, "serve --listen", err,
                      ("listening", "client", "log", "stopping"))
    t.check(evil_logs(objs), "serve --listen: the plugin's log text comes through whole", err[:2000])
    clients = [o for o in objs if o["event"] == "client"]
    t.check(clients and all(isinstance(o["fields"].get("uid"), int) for o in clients),
            "serve --listen: client lines carry the peer's uid as a field", clients)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plughost", required=True)
    ap.add_argument("--hostile", required=True, help="hostile_text.so")
    ap.add_argument("--echo", required=True, help="an echo.so")
    a = ap.parse_args()
    ph = a.plughost
    t = harness.Checker("test_log_format")
    tmp = tempfile.mkdtemp(prefix="plughost-logfmt-")
    try:
        d = os.path.join(tmp, "plugins")
        os.mkdir(d)
        shutil.copy(a.hostile, os.path.join(d, "hostile_text.so"))
        shutil.copy(a.echo, os.path.join(d, "echo.so"))
        hostile = os.path.join(d, "hostile_text.so")
        J = ["--log-format", "json"] + SLOW_OK

        r = harness.run(ph, J + ["--trace", "list", d])
        t.check(r.rc == 0, "list runs", r.describe())
        objs = json_lines(t, "list --trace", r.err, ("trace",))
        t.check(all("plugin" in o for o in objs if o["event"] == "trace"),
                "list: trace lines name their plugin", objs[:3])

        r = harness.run(ph, J + ["--trace", "--receipts", "call", hostile, "hostile_text.log"])
        t.check(r.rc == 0 and r.out.strip() == b"true", "call log runs", r.describe())
        objs = json_lines(t, "call log", r.err, ("trace", "log", "receipt"))
        logs = evil_logs(objs)
        t.check(logs and logs[0].get("plugin") == "hostile_text" and logs[0]["level"] == "info",
                "call: the plugin's log message is the field, whole, at its level", objs)
        odd = [o for o in objs if o["event"] == "log" and "plugin_level" in o["fields"]]
        t.check(odd and odd[0]["level"] == "info"
                and odd[0]["fields"]["plugin_level"].startswith("\n[echo] error: forged"),
                "call: a level the SDK does not have is filed as info, the plugin's word kept",
                objs)
        rec = [o for o in objs if o["event"] == "receipt"]
        t.check(rec and isinstance(rec[0]["fields"].get("wall_us"), int),
                "call: a receipt's figures are numbers in fields", rec)

        r = harness.run(ph, J + ["call", hostile, "hostile_text.fail"])
        objs = json_lines(t, "call fail", r.err, ("call_error",))
        e = [o for o in objs if o["event"] == "call_error"]
        t.check(r.rc == 1 and e and e[-1]["fields"]["error"]["message"] == EVIL
                and e[-1]["fields"]["error"]["data"]["why"] == EVIL
                and e[-1]["fields"]["error"]["data"]["plugin"] == "echo"
                and e[-1].get("plugin") == "hostile_text",
                "call: a method's error is one call_error line holding the error object",
                r.describe())

        r = harness.run(ph, J + ["call", hostile, "hostile_text.violate"])
        objs = json_lines(t, "call violate", r.err, ("call_error",))
        t.check(r.rc == 6 and any(o["event"] == "call_error"
                                  and o["fields"]["error"]["data"].get("status") == "violation"
                                  for o in objs), "call: a violation is a call_error line",
                r.describe())

        r = harness.run(ph, J + ["--trace", "call", hostile, "hostile_text.evil" + EVIL])
        json_lines(t, "call of a method named with the text", r.err, ("trace",))

        r = harness.run(ph, J + ["call", d, "nosuch.method"])
        json_lines(t, "call of an unknown plugin", r.err, ("call_error",))

        reqs = [{"jsonrpc": "2.0", "id": i, "method": "hostile_text." + m}
                for i, m in enumerate(("log", "notify", "fail", "result"), 1)]
        r = harness.run(ph, J + ["serve", hostile],
                        "".join(json.dumps(q) + "\n" for q in reqs).encode())
        t.check(r.rc == 0 and r.out.count(b'"id":') == 4, "serve answers", r.describe())
        objs = json_lines(t, "serve", r.err, ("log",))
        t.check(evil_logs(objs), "serve: the plugin's log text comes through whole", r.err[:2000])

        # A malformed client line: the session's own complaint.
        r = harness.run(ph, J + ["serve", "--framing=lsp", hostile], b"Content-Length: x\r\n\r\n")
        json_lines(t, "serve, a framing error", r.err)

        listen_run(t, ph, hostile, tmp)

        # The configuration key, and the command line winning over it.
        conf = os.path.join(tmp, "conf.json")
        with open(conf, "w") as f:
            json.dump({"log_format": "json"}, f)
        r = harness.run(ph, ["--config", conf] + SLOW_OK + ["call", hostile, "hostile_text.log"])
        objs = json_lines(t, "config log_format json", r.err, ("log",))
        r = harness.run(ph, ["--config", conf, "--log-format", "text"] + SLOW_OK +
                        ["call", hostile, "hostile_text.log"])
        t.check(r.rc == 0 and b"[hostile_text] info: \\x0a[echo] info: forged\\x1b" in r.err
                and not r.err.startswith(b"{"),
                "--log-format text wins over the configuration's json", r.describe())
        r = harness.run(ph, ["check-config", conf])
        t.check(r.rc == 0, "check-config accepts log_format json", r.describe())
        with open(conf, "w") as f:
            json.dump({"log_format": "xml"}, f)
        r = harness.run(ph, ["check-config", conf])
        t.check(r.rc == 2 and b"log_format" in r.err, "check-config refuses log_format xml",
                r.describe())

        # Text stays the default, escaped as before.
        r = harness.run(ph, SLOW_OK + ["call", hostile, "hostile_text.fail"])
        t.check(r.rc == 1 and r.last_error() is not None and not raw_bytes(r.err)
                and b"[hostile_text] info" not in r.err and not r.err.startswith(b"{"),
                "without --log-format: text lines, ending with 'error: {...}'", r.describe())

        # A bad value is a usage error, itself in the format asked for
        # when that format is json.
        r = harness.run(ph, ["--log-format", "xml", "list", d])
        t.check(r.rc == 2 and b"--log-format" in r.err, "--log-format xml is a usage error",
                r.describe())
        r = harness.run(ph, ["--log-format", "json", "--timeout", "x", "list", d])
        t.check(r.rc == 2, "a bad option after json: usage error", r.describe())
        json_lines(t, "a usage error under json", r.err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
