#!/usr/bin/env python3
"""Files opened by the host on a plugin's behalf (host.open, ph_open): the
plugin `files` (tests/integration/plugins/files.c) reads a granted file and
writes a granted one through `plughost --config ... call`, and every way
out of the grants is refused with the right code: outside them, through a
symbolic link (as the file, a directory on the way, or inside a writable
directory), with `..`, a directory, a FIFO, a device. Also `check-config`
errors for bad grants, and a dropped grant that cannot be regained in one
serve session."""

import json
import os
import stat
import sys
import tempfile

import harness


def main():
    ap = harness.argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plughost", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--crashy")
    ap.add_argument("--files", required=True, help="files.so")
    args = ap.parse_args()
    ck = harness.Checker("test_files")
    ph = args.plughost

    root = tempfile.mkdtemp(prefix="plughost-files-")
    pdir = harness.plugin_dir(args.files)
    try:
        data, etc, out = (os.path.join(root, d) for d in ("data", "etc", "out"))
        for d in (data, etc, out, os.path.join(etc, "sub")):
            os.makedirs(d)
        csv = b"x,y\n1,2\n" * 1000
        with open(os.path.join(data, "a.csv"), "wb") as f:
            f.write(csv)
        for name, text in (("b.txt", b"b"), (".hidden.csv", b"h")):
            with open(os.path.join(data, name), "wb") as f:
                f.write(text)
        secret = os.path.join(root, "secret.txt")
        with open(secret, "wb") as f:
            f.write(b"secret")
        with open(os.path.join(etc, "app.conf"), "wb") as f:
            f.write(b"conf")
        os.symlink(os.path.join(data, "a.csv"), os.path.join(data, "link.csv"))
        os.symlink(root, os.path.join(etc, "up"))
        os.symlink(secret, os.path.join(out, "evil"))
        os.mkfifo(os.path.join(etc, "fifo"))

        cfg = os.path.join(root, "config.json")
        with open(cfg, "w") as f:
            json.dump({"plugins": {"files.so": {"files": {
                "read": [data + "/*.csv", etc + "/", "/dev/null"],
                "write": [out + "/"]}}}}, f, indent=2)

        def call(method, params, config=cfg):
            opts = ["--config", config] if config else []
            r = harness.run(ph, opts + ["call", pdir, "files." + method, json.dumps(params)])
            try:
                return r, json.loads(r.out)
            except ValueError:
                return r, None

        # The way in: read a granted file, write a granted one.
        dst = os.path.join(out, "copy.csv")
        r, res = call("copy", {"from": os.path.join(data, "a.csv"), "to": dst})
        ck.check(res == {"bytes": len(csv)}, "copy: a granted file read whole", r.describe())
        ok = os.path.exists(dst) and open(dst, "rb").read() == csv
        ck.check(ok, "copy: the granted file written, same bytes")
        ck.check(os.path.exists(dst) and stat.S_IMODE(os.stat(dst).st_mode) & 0o077 == 0,
                 "copy: a created file is private (0600)")
        r, res = call("append", {"path": dst, "text": "tail"})
        ck.check(res == {"written": True} and open(dst, "rb").read() == csv + b"tail",
                 "append: mode a appends", r.describe())
        r, res = call("open", {"path": os.path.join(etc, "app.conf"), "mode": "r"})
        ck.check(res is not None and res.get("regular") is True and res.get("size") == 4,
                 "open: a file beneath a directory grant", r.describe())
        ck.check(res is not None and res.get("fd", -1) >= 3,
                 "open: the descriptor is moved above 0-2 (no printf into the file)",
                 r.describe())

        def refused(what, params, code, errno_name=None, grant=None, config=cfg):
            r, res = call("open", params, config)
            good = isinstance(res, dict) and res.get("refused") == code
            data_ = (res or {}).get("data") or {}
            if errno_name:
                good = good and data_.get("errno") == errno_name
            if grant:
                good = good and data_.get("grant") == grant
            ck.check(good, "refused: " + what, r.describe())

        refused("outside the grants", {"path": secret, "mode": "r"}, -32006, grant="read")
        refused("a name the pattern does not match", {"path": os.path.join(data, "b.txt"),
                                                      "mode": "r"}, -32006)
        refused("a hidden file a '*' does not match",
                {"path": os.path.join(data, ".hidden.csv"), "mode": "r"}, -32006)
        refused("writing where only reading is granted",
                {"path": os.path.join(data, "a.csv"), "mode": "w"}, -32006, grant="write")
        refused("rw needs both grants", {"path": dst, "mode": "rw"}, -32006, grant="read")
        refused("a symbolic link as the file", {"path": os.path.join(data, "link.csv"),
                                                "mode": "r"}, -32007, "ELOOP")
        refused("a symbolic link on the way", {"path": os.path.join(etc, "up", "secret.txt"),
                                               "mode": "r"}, -32007, "ELOOP")
        refused("a symbolic link in a writable directory",
                {"path": os.path.join(out, "evil"), "mode": "w"}, -32007, "ELOOP")
        ck.check(open(secret, "rb").read() == b"secret", "the link's target is untouched")
        refused("'..' in the path", {"path": etc + "/../secret.txt", "mode": "r"}, -32602)
        refused("'..' in a written path", {"path": out + "/../secret.txt", "mode": "w",
                                           "create": True}, -32602)
        refused("a relative path", {"path": "secret.txt", "mode": "r"}, -32602)
        refused("a directory", {"path": os.path.join(etc, "sub"), "mode": "r"}, -32007)
        refused("a FIFO (and the host does not block on it)",
                {"path": os.path.join(etc, "fifo"), "mode": "r"}, -32007)
        refused("a device", {"path": "/dev/null", "mode": "r"}, -32007)
        refused("a missing file without create", {"path": os.path.join(out, "none"),
                                                  "mode": "w"}, -32007, "ENOENT")
        refused("create with a read mode", {"path": os.path.join(out, "new"), "mode": "r",
                                            "create": True}, -32602)
        refused("a mode that is not one", {"path": dst, "mode": "x"}, -32602)
        refused("no configuration, no files", {"path": os.path.join(data, "a.csv"),
                                               "mode": "r"}, -32006, config=None)
        ck.check(not os.path.exists(os.path.join(out, "new")), "nothing created when refused")

        # Bad grants are configuration errors, with file:line:column.
        for grant, what in (("relative/", "a relative grant"), ("/srv/../etc/", "'..'"),
                            ("/srv/*/x.csv", "a wildcard in a directory"),
                            ("/x.csv", "a file at the root")):
            bad = os.path.join(root, "bad.json")
            with open(bad, "w") as f:
                json.dump({"plugins": {"files.so": {"files": {"read": [grant]}}}}, f, indent=2)
            r = harness.run(ph, ["check-config", bad])
            err = r.err.decode("utf-8", "replace")
            ck.check(r.rc != 0 and (bad + ":") in err and "files.read" in err,
                     "check-config refuses " + what, r.describe())

        # Grants only narrow: once dropped, no message brings them back.
        s = harness.Session(ph, pdir, ["--config", cfg])
        try:
            conf = os.path.join(etc, "app.conf")

            def sopen(i):
                a = s.call({"jsonrpc": "2.0", "id": i, "method": "files.open",
                            "params": {"path": conf, "mode": "r"}})
                return (a or {}).get("result") or {}

            ck.check(sopen(1).get("regular") is True, "serve: open before the drop")
            a = s.call({"jsonrpc": "2.0", "id": 2, "method": "files.drop"})
            ck.check((a or {}).get("result") is True, "serve: drop answered", a)
            ck.check(sopen(3).get("refused") == -32006, "serve: refused after the drop")
            ck.check(sopen(4).get("refused") == -32006, "serve: still refused on a later call")
        finally:
            s.close()
    finally:
        harness.remove_dir(pdir)
        harness.remove_dir(root)
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
