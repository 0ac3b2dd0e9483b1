#!/usr/bin/env python3
"""Plugin text never reaches the operator raw, and a plugin's end is named
from what the kernel saw (issue 12, items 8 and 7).

plugins/hostile_text.c puts terminal control sequences, a forged
"[echo] info: ..." line, DEL, a C1 control and the bidi and line-separator
code points in every string it controls: its description and version,
method names, descriptions and params docs, log messages and levels,
notification method names, error messages and data, results, a refused
path (the violation report), and, built as evil_setup.so, the stage and
message of a ph.setup_failed; the plugin directory also holds a file whose
name carries them. Every plughost command that shows any of it (list,
list --json, call, serve, profile) must write printable ASCII only: no
byte below 0x20 but the newline ending each line, no DEL, nothing >= 0x80,
and no line forged by a plugin.

Then the statuses: lying_setup.so's constructor sends a raw ph.setup_failed
and the plugin loads and serves anyway; its CPU-limit death is `limit`
(cpu_limit_s), not `setup_error` nor a crash by SIGKILL; so is a plain
plugin's. evil_setup.so, which really fails while loading, is still a
setup_error with the kernel's exit code.

Runs inside a pid namespace of its own (CMake: unshare --pid).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 60

FORGED_FILE = "x\x1b]0;t\x07\n[echo] info: forged\x1b[2K\r.so"


class Checker:
    def __init__(self):
        self.failed = 0

    def check(self, ok, what, detail=""):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            self.failed += 1
            for line in str(detail).splitlines()[:30]:
                print("     " + line[:400])
        sys.stdout.flush()
        return ok


# Generous: the machine may be busy, and a start that times out would
# hide what is looked at here.
SLOW_OK = ["--handshake-timeout", "20000"]


def run(plughost, args, stdin=b""):
    p = subprocess.run([plughost] + SLOW_OK + args, input=stdin, capture_output=True,
                       timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def raw_bytes(data):
    """The bytes a terminal would act on: controls but the line-ending
    newline, DEL, and anything not ASCII (C1 controls and every bidi or
    separator code point are multi-byte UTF-8)."""
    return sorted({b for b in data if (b < 0x20 and b != 0x0a) or b >= 0x7f})


def forged_lines(data):
    return [l for l in data.split(b"\n") if l.startswith(b"[echo]")]


def check_clean(ck, what, rc_out_err):
    rc, out, err = rc_out_err
    for name, data in (("stdout", out), ("stderr", err)):
        bad = raw_bytes(data)
        ck.check(not bad, f"{what}: {name} is printable ASCII",
                 f"bytes {[hex(b) for b in bad]}\n{data[:1500]!r}")
        forged = forged_lines(data)
        ck.check(not forged, f"{what}: no forged line on {name}", f"{forged!r}")


def last_error(err):
    lines = err.decode("ascii", "replace").rstrip("\n").split("\n")
    if not lines or not lines[-1].startswith("error: "):
        return None
    try:
        return json.loads(lines[-1][len("error: "):])
    except ValueError:
        return None


def listen_check(ck, ph, hostile, tmp):
    """serve --listen: what goes to a client on the socket and what the host
    logs on stderr (a notification sent outside any client's call, logs)."""
    path = os.path.join(tmp, "sock")
    errpath = os.path.join(tmp, "listen.err")
    with open(errpath, "wb") as errf:
        sv = subprocess.Popen([ph] + SLOW_OK + ["serve", "--listen", path, hostile],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=errf)
    got = b""
    try:
        deadline = time.monotonic() + 20
        # Ready once it says so: the socket file exists from bind(), before
        # listen().
        while time.monotonic() < deadline:
            with open(errpath, "rb") as f:
                if b"listening on" in f.read():
                    break
            time.sleep(0.05)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(20)
        c.connect(path)
        for i, m in enumerate(("notify", "result", "log", "fail", "evil\n\x1b[2K"), 1):
            c.sendall(json.dumps({"jsonrpc": "2.0", "id": i,
                                  "method": "hostile_text." + m}).encode() + b"\n")
        while got.count(b'"id":') < 5:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
        c.close()
    except OSError as e:
        ck.check(False, "serve --listen answers", f"{e}: {got[:500]!r}")
    finally:
        sv.terminate()
        try:
            sv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            sv.kill()
            sv.wait()
    with open(errpath, "rb") as f:
        err = f.read()
    ck.check(got.count(b'"id":') >= 5, "serve --listen answers every request", got[:1000])
    check_clean(ck, "serve --listen", (0, got, err))


def main():
    ap = argparse.ArgumentParser()
    for a in ("--plughost", "--echo", "--hostile", "--lying", "--evil-setup", "--quiet-setup"):
        ap.add_argument(a, required=True)
    a = ap.parse_args()
    ck = Checker()
    tmp = tempfile.mkdtemp(prefix="ph-hostile-text-")
    try:
        d = os.path.join(tmp, "plugins")
        os.mkdir(d)
        shutil.copy(a.echo, os.path.join(d, "echo.so"))
        shutil.copy(a.hostile, os.path.join(d, "hostile_text.so"))
        shutil.copy(a.evil_setup, os.path.join(d, "evil_setup.so"))
        # A plugin directory entry named with the text (a second echo, so a
        # duplicate: its load error names the file).
        shutil.copy(a.echo, os.path.join(d, FORGED_FILE))
        hostile = os.path.join(d, "hostile_text.so")
        ph = a.plughost

        r = run(ph, ["list", d])
        # 3: the directory also holds files that cannot load (named in errors).
        ck.check(r[0] == 3, "list runs, and exits 3 for the files that did not load", r)
        ck.check(b"hostile_text.log" in r[1] and b"not loaded" in r[1],
                 "list shows the plugin and the load errors", r[1][:2000])
        check_clean(ck, "list", r)
        r = run(ph, ["list", "--json", d])
        check_clean(ck, "list --json", r)
        try:
            doc = json.loads(r[1])
            names = [m["name"] for p in doc["plugins"] for m in p["methods"]]
            ck.check(any(n.startswith("evil\n[echo]") for n in names),
                     "list --json keeps the text itself, escaped as JSON", names)
        except (ValueError, KeyError, TypeError) as e:
            ck.check(False, "list --json is JSON", f"{e}: {r[1][:500]!r}")

        for method in ("log", "fail", "result", "violate", "notify",
                       "evil\n[echo] info: forged\x1b[2K\r\x1b]0;title\x07\x1b[6n\r\x7f"
                       "\u009b\u202e\u2028end"):
            r = run(ph, ["--trace", "--receipts", "call", hostile, "hostile_text." + method])
            check_clean(ck, f"call {method[:8]!r}", r)
        # A plugin's error: its data exactly as the method gave it, keys of
        # the host's reports included; the code alone says it is not one.
        r = run(ph, ["call", hostile, "hostile_text.fail"])
        e = last_error(r[2]) or {}
        data = e.get("data", {})
        ck.check(r[0] == 1 and e.get("code") == -32603 and e.get("original_code") == -32002
                 and sorted(data) == ["exit_code", "plugin", "status", "syscall", "why"]
                 and data.get("status") == "violation" and data.get("plugin") == "echo"
                 and data.get("syscall") == "reboot" and data.get("exit_code") == 0
                 and data.get("why", "").startswith("\n[echo]"),
                 "a plugin's error data reaches the caller unchanged; code -32603 and exit 1 "
                 "say it is not the host's", r)
        r = run(ph, ["call", hostile, "hostile_text.violate"])
        e = last_error(r[2])
        ck.check(r[0] == 6 and e and e["data"].get("status") == "violation",
                 "the refused open is a violation", r)
        # The function a violation report names is the plugin author's ELF
        # symbol: renamed here to the text, with bytes that are not UTF-8.
        objcopy = shutil.which("objcopy")
        if objcopy:
            sd = os.path.join(tmp, "sym")
            os.mkdir(sd)
            evil_sym = b"ev\x1b[2K\rIL\n[echo] info: forged\x1b]0;t\x07\x9b\xff\xe2\x80\xae"
            subprocess.run([objcopy, b"--redefine-sym", b"m_violate=" + evil_sym,
                            a.hostile.encode(), os.path.join(sd, "hostile_text.so").encode()],
                           check=True)
            r = run(ph, ["call", sd, "hostile_text.violate"])
            check_clean(ck, "violation from a hostile symbol", r)
            e = last_error(r[2]) or {}
            fn = e.get("data", {}).get("function", "")
            ck.check(r[0] == 6 and fn.startswith("ev\\x1b[2K\\x0dIL\\x0a") and fn.isprintable()
                     and fn.isascii(), "the symbol is named, escaped, in the report", r)
        else:
            print("skip violation from a hostile symbol: no objcopy")
        r = run(ph, ["call", d, "evil_setup.x"])
        check_clean(ck, "call of a plugin that failed to start", r)
        e = last_error(r[2])
        ck.check(e is not None and e["data"].get("status") == "setup_error"
                 and e["data"].get("exit_code") == 3,
                 "a failed start is still a setup_error with the kernel's exit code", r)

        reqs = [{"jsonrpc": "2.0", "id": i, "method": "hostile_text." + m}
                for i, m in enumerate(("notify", "result", "log", "fail", "evil\n\x1b[2K"), 1)]
        stdin = "".join(json.dumps(q) + "\n" for q in reqs).encode()
        r = run(ph, ["serve", hostile], stdin)
        check_clean(ck, "serve", r)
        answers = [json.loads(l) for l in r[1].splitlines() if l.strip()]
        res = [x for x in answers if x.get("id") == 2]
        ck.check(res and res[0]["result"]["text"].endswith("\u202e\u2028end"),
                 "serve gives the client the result's text itself", r[1][:1000])

        r = run(ph, ["pin", hostile])
        check_clean(ck, "pin", r)
        pins = os.path.join(tmp, "pins.json")
        r = run(ph, ["pin", "--output", pins, hostile])
        with open(pins, "rb") as f:
            text = f.read()
        check_clean(ck, "pin --output", (r[0], text, r[2]))
        try:
            pdoc = json.loads(text)
            ck.check(any(p.get("plugin") == "hostile_text" for p in pdoc["plugins"].values()),
                     "the pins file is still the pins", text[:300])
        except (ValueError, KeyError, AttributeError) as e:
            ck.check(False, "the pins file is JSON", f"{e}: {text[:300]!r}")

        listen_check(ck, ph, hostile, tmp)

        # A blob is the plugin's bytes unescaped: never onto a terminal.
        blob = os.path.join(tmp, "in.bin")
        with open(blob, "wb") as f:
            f.write(b"x")
        master, slave = os.openpty()
        try:
            p = subprocess.run([ph] + SLOW_OK + ["--blob-in", blob, "--blob-out", "-", "call",
                                                 hostile, "hostile_text.result"],
                               stdout=slave, stderr=subprocess.PIPE, timeout=TIMEOUT)
        finally:
            os.close(slave)
            os.close(master)
        ck.check(p.returncode == 2 and b"terminal" in p.stderr,
                 "--blob-out - refuses a terminal", f"exit {p.returncode} {p.stderr!r}")

        # A transcript is a log: printable ASCII. Replayed with the
        # recorded result changed, the difference shows the text.
        tr = os.path.join(tmp, "t.jsonl")
        r = run(ph, ["--record", tr, "call", hostile, "hostile_text.result"])
        with open(tr, "rb") as f:
            text = f.read()
        check_clean(ck, "the transcript", (r[0], text, r[2]))
        lines = []
        for l in text.splitlines():
            o = json.loads(l)
            res = o.get("msg", {}).get("result") if isinstance(o.get("msg"), dict) else None
            if isinstance(res, dict) and "text" in res:
                res["text"] = "recorded"
            lines.append(json.dumps(o))
        with open(tr, "w") as f:
            f.write("\n".join(lines) + "\n")
        for extra in ([], ["--json"]):
            r = run(ph, ["replay", tr, hostile] + extra)
            check_clean(ck, "replay " + " ".join(extra), r)
            ck.check(r[0] not in (0, 2) and b"recorded" in r[1], "replay shows the difference",
                     r)

        # MCP: tool names and descriptions, tool results, and what the
        # host says of the tools it cannot offer.
        msgs = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                            "clientInfo": {"name": "t", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
                {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                 "params": {"name": "hostile_text__result", "arguments": {}}},
                {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                 "params": {"name": "hostile_text__log", "arguments": {}}}]
        r = run(ph, ["serve", "--mcp", hostile],
                "".join(json.dumps(m) + "\n" for m in msgs).encode())
        check_clean(ck, "serve --mcp", r)
        ck.check(r[1].count(b'"id":') >= 4, "serve --mcp answers", r)

        r = run(ph, ["profile", hostile, "log", "result"])
        check_clean(ck, "profile", r)

        # Statuses (item 7).
        for what, plugin, name in (("lying_setup", a.lying, "lying_setup"),
                                   ("hostile_text", a.hostile, "hostile_text")):
            r = run(ph, ["--cpu", "1", "call", plugin, name + ".burn"])
            e = last_error(r[2])
            data = (e or {}).get("data", {})
            ck.check(r[0] == 8 and data.get("status") == "limit"
                     and data.get("limit") == "cpu_limit_s",
                     f"{what}: a CPU-limit death is status limit (cpu_limit_s), exit 8",
                     f"exit {r[0]}\n{r[2][-1500:]!r}")
        r = run(ph, ["--cpu", "5", "call", a.hostile, "hostile_text.xcpu"])
        e = last_error(r[2]) or {}
        ck.check(r[0] == 0 or (r[0] == 4 and e.get("data", {}).get("signal") == "SIGXCPU"),
                 "a SIGXCPU the plugin raised itself is no CPU limit", r)
        r = run(ph, ["call", a.lying, "lying_setup.exit3"])
        data = (last_error(r[2]) or {}).get("data", {})
        ck.check(r[0] == 4 and data.get("status") == "exited" and data.get("exit_code") == 3
                 and "stage" not in data,
                 "lying_setup: ending on its own after loading is exited, not setup_error", r)
        # A plugin's setup failure that reads like the host's own stop is
        # still shown: only the host's stop is quiet.
        r = run(ph, ["call", a.quiet_setup, "quiet_setup.x"])
        ended = [l for l in r[2].split(b"\n")
                 if l.startswith(b"plughost: plugin ") and l.endswith(b"(init): host stopping")]
        ck.check(r[0] == 3 and len(ended) == 2,
                 "a setup failure saying 'host stopping' is reported like any other", r)
        r = run(ph, ["call", a.lying, "lying_setup.result"])
        ck.check(r[0] == 0, "lying_setup: loads and serves after its made-up setup failure", r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"test_hostile_text: {ck.failed} failed")
    return 1 if ck.failed else 0


if __name__ == "__main__":
    sys.exit(main())
