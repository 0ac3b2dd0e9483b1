"""Many plugins started at once all load: 100 copies of one plugin under
distinct names, loaded by one `plughost list`, each then callable. (Starting
more than 16 at once used to fail: the kernel bounds descriptors in flight
per user by the sender's RLIMIT_NOFILE, which the loader sets to 16.)"""

import json
import os

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
    return ck.finish()


if __name__ == "__main__":
    raise SystemExit(main())
