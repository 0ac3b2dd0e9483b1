"""`plughost profile`, the audit mode, and `--receipts`: a plugin that starts a thread runs to
completion with the refusals logged, the learned manifest asks for the
"threads" grant, and --check refuses a manifest that does not allow it (so CI
can refuse a plugin version that asks for more)."""

import json
import os
import tempfile

import harness


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    ck = harness.Checker("test_profile")
    threader = os.path.join(os.path.dirname(args.crashy), "..", "..", "unit", "plugins",
                            "threader.so")
    tmp = tempfile.mkdtemp(prefix="plughost-profile-")
    try:
        learned = os.path.join(tmp, "learned.json")
        r = harness.run(args.plughost, ["profile", "--manifest", learned, threader, "spawn"])
        out = r.out.decode()
        ck.check(r.rc == 0 and 'call threader.spawn: result "joined"' in out,
                 "plugin ran in audit mode", r.describe())
        ck.check("clone3" in out and "grant: threads" in out, "refused calls listed with grant",
                 out)
        with open(learned) as f:
            ck.check(json.load(f) == {"needs": {"threads": True}}, "learned manifest", learned)
        empty = os.path.join(tmp, "empty.json")
        with open(empty, "w") as f:
            f.write('{"needs": {}}')
        r = harness.run(args.plughost, ["profile", "--check", empty, threader, "spawn"])
        ck.check(r.rc == 6 and b'needs "threads"' in r.out, "--check refuses a wider plugin",
                 r.describe())
        r = harness.run(args.plughost, ["profile", "--check", learned, threader, "spawn"])
        ck.check(r.rc == 0 and b"check: within" in r.out, "--check accepts its own manifest",
                 r.describe())
        r = harness.run(args.plughost, ["profile", harness.echo_so(args), "echo", "[1]"])
        ck.check(r.rc == 0 and b"would refuse (0)" in r.out, "echo needs nothing", r.describe())
        # Receipts: each answer's cost on stderr.
        r = harness.run(args.plughost, ["--receipts", "call", harness.echo_so(args), "echo.echo",
                                        "[1]"])
        import re
        m = re.search(rb"receipt echo\.echo: wall (\d+) us, cpu (\d+) us, peak rss (\d+) KiB",
                      r.err)
        ck.check(r.rc == 0 and m and int(m.group(3)) > 0, "--receipts reports the call's cost",
                 r.describe())
    finally:
        harness.remove_dir(tmp)
    return ck.finish()


if __name__ == "__main__":
    raise SystemExit(main())
