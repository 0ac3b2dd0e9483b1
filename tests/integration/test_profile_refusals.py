"""`plughost profile` never opens the filter: a plugin that tries to create
processes and namespaces, load bpf, set up io_uring, open perf events, use
keys, ptrace, mount, load modules, exec, or make executable memory gets an
errno for each, keeps running, and each attempt is recorded as refused.
Runs inside a pid namespace (CMakeLists.txt)."""

import json
import os
import shutil
import tempfile

import harness

EXPECT = ["fork", "unshare_user_net", "setns", "bpf", "io_uring_setup", "perf_event_open",
          "keyctl", "add_key", "ptrace", "mount", "init_module", "execve", "mmap_exec",
          "process_vm_readv", "ioctl", "socket_netlink", "socket_vsock", "chmod", "utimensat",
          "flock"]


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    ck = harness.Checker("test_profile_refusals")
    escaper = os.path.join(os.path.dirname(args.crashy), "escaper.so")
    r = harness.run(args.plughost, ["profile", escaper, "try_all"])
    out = r.out.decode(errors="replace")
    ck.check(r.rc == 0 and "call escaper.try_all: result" in out, "plugin ran to its end",
             r.describe())
    line = next((l for l in out.splitlines() if l.startswith("call escaper.try_all: result")), "")
    try:
        res = json.loads(line.split("result", 1)[1])
    except ValueError:
        res = {}
    for name in EXPECT:
        e = res.get(name, {})
        ck.check(e.get("ret") == -1 and e.get("errno") in ("Operation not permitted",
                                                          "Function not implemented"),
                 "%s fails with an errno under profile" % name, json.dumps(e))
    ck.check("refused" in out, "the report marks refusals", out)

    # Paths: through only inside the private root (root host: it has one).
    r = harness.run(args.plughost, ["profile", escaper, "try_stat"])
    ck.check(r.rc == 0 and b'"ret":0' in r.out, "stat continues inside the private root",
             r.describe())
    without = os.path.join(os.path.dirname(os.path.dirname(args.crashy)), "..", "matrix",
                           "without")
    # Not under valgrind (.ci/valgrind): its log files are root's, and the
    # unprivileged host below could not write them.
    if os.geteuid() == 0 and os.access(without, os.X_OK) and \
            os.environ.get("PH_UNDER_VALGRIND") != "1":
        tmp = tempfile.mkdtemp(prefix="plughost-profile-")
        try:
            os.chmod(tmp, 0o755)
            shutil.copy(escaper, tmp)
            mine = os.path.join(tmp, "escaper.so")
            # Landlock alone does not mediate stat: refused under profile.
            r = harness.run(without, ["--user", "65534", "--no-userns", "--", args.plughost,
                                      "profile", mine, "try_stat"])
            ck.check(r.rc == 0 and b'"errno":"Operation not permitted"' in r.out,
                     "stat is refused under profile with Landlock alone", r.describe())
            # No containment: profile never runs, even when the weaker mode
            # is accepted.
            r = harness.run(without, ["--user", "65534", "--no-userns", "--no-landlock", "--",
                                      args.plughost, "--accept-weaker", "no-fs-containment",
                                      "profile", mine, "try_stat"])
            ck.check(r.rc != 0 and b"no filesystem containment" in r.out + r.err,
                     "profile refuses to run without containment, accepted or not",
                     r.describe())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return ck.finish()


if __name__ == "__main__":
    raise SystemExit(main())
