#!/usr/bin/env python3
"""isolate "client" over `serve --listen`: each connection gets processes
of its own, never shared with another connection, kept for as long as it
is connected. The pooled plugin's `remember` answers what the previous
call in the same process was given, so a client that could reach another
client's process would see that client's data. The control (no
isolation) shows that it would."""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class Server:
    def __init__(self, ph, cfg, plugins, sock):
        self.p = subprocess.Popen([ph, "--config", cfg, "--listen", sock, "serve", plugins],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.err = []
        threading.Thread(target=self._read, daemon=True).start()
        end = time.monotonic() + 20
        while "listening on" not in self.stderr() and time.monotonic() < end:
            if self.p.poll() is not None:
                break
            time.sleep(0.02)

    def _read(self):
        for ln in iter(self.p.stderr.readline, b""):
            self.err.append(ln)

    def stderr(self):
        return b"".join(self.err).decode("utf-8", "replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            return self.p.wait(timeout=harness.TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(100):
            try:
                self.s.connect(path)
                break
            except (ConnectionRefusedError, FileNotFoundError):
                time.sleep(0.05)
        self.buf = b""
        self.id = 0

    def remember(self, params):
        self.id += 1
        msg = {"jsonrpc": "2.0", "id": self.id, "method": "pooled.remember", "params": params}
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        end = time.monotonic() + harness.TIMEOUT
        while b"\n" not in self.buf and time.monotonic() < end:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            chunk = self.s.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line) if line else None

    def close(self):
        self.s.close()


def run(ck, ph, pooled, isolate):
    d = harness.plugin_dir(pooled)
    cfg = d + ".json"
    entry = {"isolate": "client", "instances": 4} if isolate else {}
    with open(cfg, "w") as f:
        json.dump({"plugins": {"pooled.so": entry}}, f)
    sock = os.path.join(d, "s.sock")
    sv = Server(ph, cfg, d, sock)
    try:
        a, b = Conn(sock), Conn(sock)
        ra0 = a.remember({"who": "a", "n": 0})
        rb0 = b.remember({"who": "b", "n": 0})
        ra1 = a.remember({"who": "a", "n": 1})
        rb1 = b.remember({"who": "b", "n": 1})
        if not isolate:
            ck.check(rb0 and rb0.get("result") == {"who": "a", "n": 0},
                     "control, no isolation: client b's call finds client a's data", rb0)
            return
        ck.check(ra0 and ra0.get("result") is None, "client a's first call finds nothing", ra0)
        ck.check(rb0 and rb0.get("result") is None,
                 "client b's first call does not find client a's data", rb0)
        ck.check(ra1 and ra1.get("result") == {"who": "a", "n": 0},
                 "client a keeps its own process between calls", ra1)
        ck.check(rb1 and rb1.get("result") == {"who": "b", "n": 0},
                 "client b keeps its own process, never a's", rb1)
        a.close()
        c = Conn(sock)
        rc0 = c.remember({"who": "c", "n": 0})
        ck.check(rc0 and rc0.get("result") is None,
                 "a new client after a left finds neither a's nor b's data", rc0)
        c.close()
        b.close()
    finally:
        rc = sv.stop()
        ck.check(rc == 0, f"serve --listen exits 0 on SIGTERM ({rc})", sv.stderr())
        harness.remove_dir(d)
        os.unlink(cfg)


def spares_at_load(ck, ph, pooled):
    """A pool's spares are up once serve has loaded it, before any call:
    plughost status shows both processes of a pool of two with two spares."""
    d = harness.plugin_dir(pooled)
    cfg = d + ".json"
    with open(cfg, "w") as f:
        json.dump({"plugins": {"pooled.so": {"instances": 2, "spares": 2}}}, f)
    sock = os.path.join(d, "s.sock")
    sv = Server(ph, cfg, d, sock)
    try:
        Conn(sock).close()  # the socket is up: loading is done
        n, end = 0, time.monotonic() + 10
        while n < 2 and time.monotonic() < end:
            r = subprocess.run([ph, "status", "--json", sock], capture_output=True, text=True)
            st = json.loads(r.stdout) if r.returncode == 0 else {}
            for p in st.get("plugins", []):
                if p.get("name") == "pooled":
                    n = sum(1 for i in p.get("instances", []) if i.get("state") == "ready")
            time.sleep(0.05)
        ck.check(n == 2, "spares: both processes ready before the first call (%d)" % n)
    finally:
        sv.stop()
        harness.remove_dir(d)
        os.unlink(cfg)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plughost", required=True)
    ap.add_argument("--pooled", required=True)
    args = ap.parse_args()
    ck = harness.Checker("test_isolate_client")
    run(ck, args.plughost, args.pooled, False)
    run(ck, args.plughost, args.pooled, True)
    spares_at_load(ck, args.plughost, args.pooled)
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
