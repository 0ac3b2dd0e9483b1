#!/usr/bin/env python3
"""Blobs from the command line: `plughost call --blob-in FILE --blob-out
FILE` moves bytes beside the JSON to the `blobs` plugin
(tests/unit/plugins/blobs.c) and back: 0 B, 1 B, 64 MiB echo, a reversed
blob inside a structured result, `-` for stdout, and the refusals (a blob
over --max-message, --blob-out alone, a reference without its blob)."""

import json
import os
import sys
import tempfile

import harness


def main():
    ap = harness.argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plughost", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--crashy")
    ap.add_argument("--blobs", required=True, help="blobs.so")
    args = ap.parse_args()
    ck = harness.Checker("test_blob_cli")
    ph = args.plughost
    work = tempfile.mkdtemp(prefix="plughost-blob-")
    pdir = harness.plugin_dir(args.blobs)
    try:
        src, dst = os.path.join(work, "in.bin"), os.path.join(work, "out.bin")
        for size in (0, 1, 64 << 20):
            data = os.urandom(size)
            with open(src, "wb") as f:
                f.write(data)
            r = harness.run(ph, ["--blob-in", src, "--blob-out", dst, "call", pdir, "blobs.echo"],
                            timeout=120)
            ok = r.rc == 0 and json.loads(r.out or b"null") == {"$blob": 0, "size": size}
            ck.check(ok, f"echo of {size} bytes: the result is the reference", r.describe())
            ck.check(os.path.exists(dst) and open(dst, "rb").read() == data,
                     f"echo of {size} bytes: the same bytes back")

        data = bytes(range(256)) * 3
        with open(src, "wb") as f:
            f.write(data)
        r = harness.run(ph, ["--blob-in", src, "--blob-out", dst, "call", pdir, "blobs.reverse",
                             '{"note": 1}'])
        res = json.loads(r.out or b"null") if r.rc == 0 else None
        ck.check(res == {"reversed": {"$blob": 0, "size": len(data)}, "bytes": len(data)} and
                 open(dst, "rb").read() == data[::-1],
                 "reverse: a blob inside a structured result, object params kept", r.describe())
        r = harness.run(ph, ["--blob-in", src, "--blob-out", "-", "call", pdir, "blobs.echo"])
        ck.check(r.rc == 0 and r.out == data and b'"$blob"' in r.err,
                 "--blob-out -: the bytes on stdout, the result on stderr", r.describe())
        r = harness.run(ph, ["--blob-in", src, "call", pdir, "blobs.sum", "[]"])
        ck.check(r.rc == 0 and json.loads(r.out or b"null") == {"sum": sum(data), "bytes": len(data)},
                 "sum: a blob appended to array params, JSON back", r.describe())

        r = harness.run(ph, ["--max-message", "500", "--blob-in", src, "call", pdir, "blobs.sum"])
        ck.check(r.rc not in (0, None) and b"maximum message size" in r.err,
                 "a blob over --max-message is refused before the call", r.describe())
        r = harness.run(ph, ["--blob-out", dst, "call", pdir, "blobs.echo"])
        ck.check(r.rc == 2 and b"--blob-in" in r.err, "--blob-out alone is a usage error",
                 r.describe())
        r = harness.run(ph, ["call", pdir, "blobs.sum", '{"blob": {"$blob": 0, "size": 5}}'])
        err = r.last_error() or {}
        ck.check(r.rc == 1 and err.get("code") == -32602 and "no blob" in err.get("message", ""),
                 "a reference without its blob: the plugin's -32602", r.describe())
    finally:
        harness.remove_dir(pdir)
        harness.remove_dir(work)
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
