"""A root host never runs a plugin as root: outside every namespace the
plugin process is the overflow user (65534) or the ids the configuration's
"run_as" names, with no capabilities and no_new_privs, so RLIMIT_NPROC holds
for it and an escape would land as nobody. Skipped (77) unless root."""

import json
import os
import subprocess
import sys
import tempfile
import time

import harness


def status_of(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return fields


def plugin_pids(host_pid):
    pids = []
    for tid in os.listdir("/proc/%d/task" % host_pid):
        with open("/proc/%d/task/%s/children" % (host_pid, tid)) as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def ids_while_serving(plughost, hargs, echo):
    p = subprocess.Popen([plughost] + hargs + ["serve", echo], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":[1]}\n')
        p.stdin.flush()
        answer = p.stdout.readline()
        pids = plugin_pids(p.pid)
        return answer, [status_of(pid) for pid in pids]
    finally:
        p.stdin.close()
        p.wait(timeout=20)


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    ck = harness.Checker("test_run_as")
    if os.geteuid() != 0:
        print("test_run_as: not root, skipped")
        return 77
    echo = harness.echo_so(args)
    answer, procs = ids_while_serving(args.plughost, [], echo)
    ck.check(b'"result":[1]' in answer and len(procs) == 1, "one plugin serving", answer)
    for st in procs:
        ck.check(st["Uid"] == ["65534"] * 4 and st["Gid"] == ["65534"] * 4,
                 "plugin runs as the overflow ids", "Uid %s Gid %s" % (st["Uid"], st["Gid"]))
        ck.check(st.get("Groups", []) == [], "no supplementary groups", str(st.get("Groups")))
        ck.check(st["CapEff"] == ["0000000000000000"] and st["CapPrm"] == ["0000000000000000"]
                 and st["CapBnd"] == ["0000000000000000"], "no capabilities, none to regain",
                 "%s %s %s" % (st["CapEff"], st["CapPrm"], st["CapBnd"]))
        ck.check(st["NoNewPrivs"] == ["1"], "no_new_privs", str(st["NoNewPrivs"]))
    tmp = tempfile.mkdtemp(prefix="plughost-runas-")
    try:
        conf = os.path.join(tmp, "conf.json")
        with open(conf, "w") as f:
            json.dump({"run_as": {"uid": 4242, "gid": 4343}}, f)
        answer, procs = ids_while_serving(args.plughost, ["--config", conf], echo)
        ck.check(len(procs) == 1 and procs[0]["Uid"] == ["4242"] * 4 and
                 procs[0]["Gid"] == ["4343"] * 4, "run_as names the ids",
                 str([(s["Uid"], s["Gid"]) for s in procs]))
        with open(conf, "w") as f:
            json.dump({"run_as": {"uid": 0, "gid": 0}}, f)
        r = harness.run(args.plughost, ["--config", conf, "call", echo, "echo.echo", "[1]"])
        ck.check(r.rc != 0, "run_as root is refused", r.describe())
    finally:
        harness.remove_dir(tmp)
    return ck.finish()


if __name__ == "__main__":
    raise SystemExit(main())
