#!/usr/bin/env python3
"""A hostile plugin directory: entries that are FIFOs, sockets, devices
behind symbolic links, symbolic links at all, and huge sparse files, named
like plugins and like manifests. Nothing there may block, hang or slow the
host: `list` finishes at once with a named load error for each and loads
the good plugins; a `serve --listen` whose plugin restarts while a FIFO sits
in its place keeps answering every client and still stops on SIGTERM."""

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_serve_listen import Conn, Server, req  # noqa: E402

PROMPT = 10  # seconds: far more than any of this takes, far less than a hang
HUGE = 100 << 30  # a sparse file of 100 GB: no disk used, never to be read


def hostile_dir(args, keep):
    """echo.so and textstats.so, and every kind of bad entry."""
    d = harness.plugin_dir(harness.echo_so(args), os.path.join(args.plugins, "textstats.so"),
                           args.crashy)
    os.mkfifo(os.path.join(d, "fifo.so"))
    os.symlink("fifo.so", os.path.join(d, "fifolink.so"))
    os.symlink("/dev/zero", os.path.join(d, "zero.so"))
    os.symlink("echo.so", os.path.join(d, "link.so"))
    with open(os.path.join(d, "huge.so"), "wb") as f:
        f.truncate(HUGE)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(d, "sock.so"))
    keep.append(s)
    # Names no report could carry as they are: not UTF-8, a terminal control.
    for name in (b"bad\xff.so", b"esc\x1b[2J.so", b"csi\xc2\x9b2J.so"):
        shutil.copy(harness.echo_so(args), os.path.join(os.fsencode(d), name))
    # Manifests: a FIFO beside textstats, a huge one beside crashy.
    os.mkfifo(os.path.join(d, "textstats.manifest.json"))
    with open(os.path.join(d, "crashy.manifest.json"), "wb") as f:
        f.truncate(HUGE)
    return d


def listing(t, args):
    keep = []
    d = hostile_dir(args, keep)
    try:
        t0 = time.monotonic()
        r = harness.run(args.plughost, ["list", "--json", d], timeout=PROMPT)
        took = time.monotonic() - t0
        t.check(not r.timed_out, f"list finishes promptly ({took:.2f} s)", r.describe())
        try:
            out = json.loads(r.out)
        except ValueError:
            out = {}
        names = [p.get("name") for p in out.get("plugins", [])]
        t.check(names == ["echo"], "the good plugin is loaded, nothing else", names)
        errors = {os.path.basename(e.get("file", "")): e.get("error", {}).get("message", "")
                  for e in out.get("errors", [])}
        want = {"fifo.so": "a FIFO", "fifolink.so": "symbolic link", "zero.so": "symbolic link",
                "link.so": "symbolic link", "huge.so": "larger than", "sock.so": "a socket",
                "textstats.so": "textstats.manifest.json: a FIFO",
                "crashy.so": "crashy.manifest.json: 107374182400 bytes, larger than"}
        for name, text in want.items():
            t.check(text in errors.get(name, ""), f"{name}: a named load error ({text})",
                    errors.get(name))
        for name in ("bad\\xff.so", "esc\\x1b[2J.so", "csi\\xc2\\x9b2J.so"):
            t.check("not printable" in errors.get(name, ""),
                    f"{name}: refused by its escaped name", sorted(errors))
        t.check(b"\x1b" not in r.out and b"\xff" not in r.out, "no raw byte of a name in the output")
        r = harness.run(args.plughost, ["list", d], timeout=PROMPT)
        t.check(not r.timed_out and b"\x1b" not in r.out + r.err and b"bad\\xff.so" in r.out + r.err,
                "list without --json names them escaped too", r.describe())

        # One plugin file named on the command line: the same.
        for name, text in (("fifo.so", "a FIFO"), ("zero.so", "symbolic link"),
                           ("huge.so", "larger than")):
            r = harness.run(args.plughost, ["call", os.path.join(d, name), "x.y"],
                            timeout=PROMPT)
            t.check(not r.timed_out and r.rc == 3 and text in r.err.decode("utf-8", "replace"),
                    f"call {name}: refused at once, named", r.describe())
    finally:
        for s in keep:
            s.close()
        harness.remove_dir(d)


def long_names(t, args):
    """Load errors of entries whose long UTF-8 names are cut in a report's
    fixed-size text: each is still reported (a cut inside a UTF-8 sequence
    made the report unbuildable, and it was silently dropped)."""
    top = tempfile.mkdtemp(prefix="plughost-dir-")
    d = os.path.join(top, "d" * 200, "e" * 100)
    os.makedirs(d)
    try:
        shutil.copy(harness.echo_so(args), d)
        for k in range(4):  # every position of the cut in a 2-byte sequence, twice
            os.mkfifo(os.path.join(d, "x" * k + "\u00e9" * 120 + ".so"))
        r = harness.run(args.plughost, ["list", "--json", d], timeout=PROMPT)
        try:
            out = json.loads(r.out)
        except ValueError:
            out = {}
        t.check(len(out.get("errors", [])) == 4, "long UTF-8 names: every load error is reported",
                r.describe())
    finally:
        harness.remove_dir(top)


def restart_under_serve(t, args):
    """A plugin restarts after a crash while its manifest, then its file,
    is a FIFO: the restart is refused by name and the host keeps serving."""
    d = harness.plugin_dir(harness.echo_so(args), args.crashy)
    tmp = tempfile.mkdtemp(prefix="plughost-dir-")
    path = os.path.join(tmp, "s.sock")
    sv = Server(args.plughost, d, path, ["--listen", path])
    try:
        a, b = Conn(path), Conn(path)
        a.send(req(1, "crashy.ok"))
        r = a.answer(1, PROMPT)
        t.check(r and r.get("result") == "ok", "crashy answers at first", r)

        os.mkfifo(os.path.join(d, "crashy.manifest.json"))
        a.send(req(2, "crashy.crash"))
        r = a.answer(2, PROMPT)
        t.check(r and r.get("error", {}).get("data", {}).get("status") == "signaled",
                "the crash is reported", r)
        a.send(req(3, "crashy.ok"))
        r = a.answer(3, PROMPT)
        msg = (r or {}).get("error", {}).get("message", "")
        t.check("crashy.manifest.json: a FIFO" in msg,
                "a restart with a FIFO as manifest fails at once, named", r)
        b.send(req(4, "echo.echo", ["still here"]))
        r = b.answer(4, PROMPT)
        t.check(r and r.get("result") == ["still here"], "another client is still served", r)

        # Now the plugin file itself: a FIFO renamed over it.
        os.unlink(os.path.join(d, "crashy.manifest.json"))
        fifo = os.path.join(d, ".new")
        os.mkfifo(fifo)
        os.rename(fifo, os.path.join(d, "crashy.so"))
        time.sleep(0.2)  # past the restart backoff
        a.send(req(5, "crashy.ok"))
        r = a.answer(5, PROMPT)
        msg = (r or {}).get("error", {}).get("message", "")
        t.check("crashy.so: a FIFO" in msg, "a restart with a FIFO as plugin file fails, named",
                r)
        b.send(req(6, "echo.echo", ["still"]))
        r = b.answer(6, PROMPT)
        t.check(r and r.get("result") == ["still"], "and the host still serves", r)
        a.close()
        b.close()
        sv.p.send_signal(signal.SIGTERM)
        try:
            rc = sv.p.wait(timeout=PROMPT)
        except Exception:
            rc = None
        t.check(rc is not None, "SIGTERM stops it promptly", sv.stderr())
    finally:
        sv.stop(signal.SIGKILL)
        harness.remove_dir(d)
        harness.remove_dir(tmp)


def violation_after_swap(t, args):
    """A plugin killed by the sandbox after its file was replaced by a FIFO:
    the report names the function from the file the host opened at spawn,
    without opening the name again (which would block on the FIFO)."""
    atk = os.path.join(os.path.dirname(os.path.abspath(args.plughost)), "tests", "isolation",
                       "atk_socket_inet.so")
    if not os.path.exists(atk):
        print(f"skipped: no {atk}")
        return
    d = harness.plugin_dir(harness.echo_so(args), atk)
    tmp = tempfile.mkdtemp(prefix="plughost-dir-")
    path = os.path.join(tmp, "v.sock")
    sv = Server(args.plughost, d, path, ["--listen", path])
    try:
        a = Conn(path)
        a.send(req(1, "echo.echo", [1]))
        t.check(a.answer(1, PROMPT) is not None, "serving")
        fifo = os.path.join(d, ".new")
        os.mkfifo(fifo)
        os.rename(fifo, os.path.join(d, "atk_socket_inet.so"))
        a.send(req(2, "atk_socket_inet.attack"))
        r = a.answer(2, PROMPT)
        data = (r or {}).get("error", {}).get("data", {})
        t.check(data.get("status") == "violation" and
                str(data.get("function", "")).startswith("atk_run"),
                "the violation is reported at once, its function named from the file as loaded",
                r)
        a.send(req(3, "echo.echo", [3]))
        r = a.answer(3, PROMPT)
        t.check(r and r.get("result") == [3], "and the host still serves", r)
        a.close()
    finally:
        sv.stop(signal.SIGKILL)
        harness.remove_dir(d)
        harness.remove_dir(tmp)


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    t = harness.Checker("test_plugin_dir")
    listing(t, args)
    long_names(t, args)
    restart_under_serve(t, args)
    violation_after_swap(t, args)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
