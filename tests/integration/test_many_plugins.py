"""Many plugins started at once all load: 100 copies of one plugin under
distinct names, loaded by one `plughost list`, each then callable. (Starting
more than 16 at once used to fail: the kernel bounds descriptors in flight
per user by the sender's RLIMIT_NOFILE, which the loader sets to 16.)"""

import json
import os
import time

import harness

N = 100


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    ck = harness.Checker("test_many_plugins")
    src = os.path.join(os.path.dirname(args.crashy), "named.so")
    with open(src, "rb") as f:
        image = f.read()
    d = harness.plugin_dir()
    try:
        for i in range(N):
            name = b"named%07d" % i
            with open(os.path.join(d, name.decode() + ".so"), "wb") as f:
                f.write(image.replace(b"named0000000", name))
        r = harness.run(args.plughost, ["list", "--json", d], timeout=60)
        listing = json.loads(r.out or b"{}")
        loaded = {p["name"] for p in listing.get("plugins", [])}
        ck.check(len(loaded) == N and not listing.get("errors"),
                 f"all {N} plugins loaded at once ({len(loaded)})", r.describe())
        reqs = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"named%07d.echo","params":[%d]}\n'
                        % (i, i, i) for i in range(0, N, 7))
        r = harness.run(args.plughost, ["serve", d], stdin=reqs, timeout=60)
        answers = [json.loads(line) for line in r.out.splitlines() if line.strip()]
        ok = all(a.get("result") == [a.get("id")] for a in answers)
        ck.check(ok and len(answers) == len(range(0, N, 7)), "calls to many plugins answered",
                 r.describe())
    finally:
        harness.remove_dir(d)

    # A directory is started a window at a time (host.c, load_files); a
    # plugin stuck in its start gives its place up after 250 ms, so a dozen
    # of them (more than the window) cost one handshake timeout, not one
    # per window-full.
    stall = os.path.join(os.path.dirname(args.crashy), "stall.so")
    with open(stall, "rb") as f:
        stall_image = f.read()
    d = harness.plugin_dir()
    try:
        stuck = 4 * (os.cpu_count() or 1) * 3
        for i in range(stuck):
            name = b"stall%07d" % i
            with open(os.path.join(d, name.decode() + ".so"), "wb") as f:
                f.write(stall_image.replace(b"stall0000000", name))
        with open(os.path.join(d, "named0000001.so"), "wb") as f:
            f.write(image.replace(b"named0000000", b"named0000001"))
        t0 = time.monotonic()
        r = harness.run(args.plughost, ["list", "--json", "--handshake-timeout", "1500", d],
                        timeout=60)
        took = time.monotonic() - t0
        listing = json.loads(r.out or b"{}")
        loaded = {p["name"] for p in listing.get("plugins", [])}
        errors = listing.get("errors", [])
        ck.check(loaded == {"named0000001"} and len(errors) == stuck,
                 f"{stuck} stalled starts refused, the good one loaded", r.describe())
        ck.check(took < 1.5 + 0.25 * 3 + 1.5,
                 f"stalled starts do not queue behind each other ({took:.2f} s; 3 windows of "
                 f"them at 1.5 s each would be 4.5 s)", r.describe())
    finally:
        harness.remove_dir(d)
    return ck.finish()


if __name__ == "__main__":
    raise SystemExit(main())
