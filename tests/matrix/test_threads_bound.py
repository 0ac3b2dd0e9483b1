"""Threads under the threads grant are bounded by the host itself, not only
by a cgroup: an unprivileged host (no cgroup layer, no user namespaces:
`without --user 65534 --no-userns`) lets a plugin asking for 200 threads
start 63 beside its main one (the bound, 64, is PH_LW_MAX_THREADS), the rest
fail with EAGAIN, and the plugin keeps serving. Runs as pid 1 of its own pid
namespace (the wrapper makes one). Skipped (77) unless root.

    test_threads_bound.py WITHOUT PLUGHOST THREADER_SO"""

import json
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    if os.geteuid() != 0:
        print("test_threads_bound: not root, skipped")
        return 77
    without, plughost, threader = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="plughost-threads-")
    failures = 0
    try:
        os.chmod(tmp, 0o755)
        shutil.copy(threader, os.path.join(tmp, "threader.so"))
        with open(os.path.join(tmp, "threader.manifest.json"), "w") as f:
            f.write('{"needs": {"threads": true}}')
        conf = os.path.join(tmp, "conf.json")
        with open(conf, "w") as f:
            json.dump({"plugins": {"threader.so": {"grants": ["threads"]}}}, f)
        for cfg in (["--user", "65534", "--no-userns"], ["--user", "65534"]):
            r = subprocess.run([without] + cfg + ["--", plughost, "--config", conf, "call",
                                os.path.join(tmp, "threader.so"), "threader.many",
                                '{"n": 200}'], capture_output=True, timeout=120)
            try:
                res = json.loads(r.stdout)
            except ValueError:
                res = {}
            ok = r.returncode == 0 and res.get("started") == 63 and \
                res.get("error") == "Resource temporarily unavailable"
            print("%s  %s: 200 threads asked, %s started (%s)%s" % (
                "ok  " if ok else "FAIL", " ".join(cfg), res.get("started"), res.get("error"),
                "" if ok else "\n" + r.stderr.decode(errors="replace")[-1500:]))
            failures += not ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("test_threads_bound: %d passed, %d failed" % (2 - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
