#!/usr/bin/env python3
"""docs/systemd: `systemd-analyze verify` accepts the socket and service
units, the service's command line is one plughost accepts (with the example
configuration the package installs, plughost.json), and the socket unit
names the descriptor the service asks for. Skipped (77) without
systemd-analyze."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

UNITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "systemd")
CONF = "/etc/plughost/plughost.json"  # where the package installs docs/systemd/plughost.json


def is_log_object(line):
    try:
        o = json.loads(line)
    except ValueError:
        return False
    return isinstance(o, dict) and {"time", "level", "event", "fields"} <= set(o)


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    t = harness.Checker("test_systemd_units")
    with open(os.path.join(UNITS, "plughost.service")) as f:
        service = f.read()
    with open(os.path.join(UNITS, "plughost.socket")) as f:
        sock = f.read()
    exec_start = re.search(r"^ExecStart=(.*)$", service, re.M).group(1)
    argv = shlex.split(exec_start)
    t.check(argv[0] == "/usr/bin/plughost", "ExecStart runs the installed plughost", argv)
    name = re.search(r"^FileDescriptorName=(.*)$", sock, re.M).group(1)
    t.check(f"--listen=systemd:{name}" in argv,
            "the service asks for the descriptor the socket unit names", (name, argv))

    t.check("--config" in argv and argv[argv.index("--config") + 1] == CONF,
            "the service uses the configuration the package installs", argv)
    t.check(argv[-1] == "/var/lib/plughost/plugins",
            "the service serves the operator's plugin directory", argv)
    t.check("--log-format" in argv and argv[argv.index("--log-format") + 1] == "json",
            "the service logs one JSON object a line", argv)
    example = os.path.join(UNITS, "plughost.json")
    r = harness.run(args.plughost, ["check-config", example])
    t.check(r.rc == 0, "the example configuration passes check-config", r.describe())

    # The same command line, run here without activation: every option is
    # understood, and it stops only for want of the socket. The group is
    # one this machine has; the configuration is the example's.
    argv = [args.plughost] + ["root" if a == "plughost" else example if a == CONF else a
                              for a in argv[1:-1]] + [args.plugins]
    r = harness.run(argv[0], argv[1:])
    t.check(r.rc == 2 and b"no socket was passed" in r.err,
            "plughost accepts the service's options", r.describe())
    t.check(all(is_log_object(l) for l in r.err.decode("ascii", "replace").splitlines())
            and r.err, "and says why as JSON lines", r.describe())

    sa = shutil.which("systemd-analyze")
    if not sa:
        print("skipped: no systemd-analyze")
        return 77 if t.failed == 0 else t.finish()
    d = tempfile.mkdtemp(prefix="plughost-units-")
    try:
        # verify checks that ExecStart's program exists: point it at the
        # build's, and leave the man page check out (not installed here).
        with open(os.path.join(d, "plughost.service"), "w") as f:
            f.write(service.replace("/usr/bin/plughost", os.path.abspath(args.plughost)))
        shutil.copy(os.path.join(UNITS, "plughost.socket"), d)
        p = subprocess.run([sa, "verify", "--man=no", os.path.join(d, "plughost.socket"),
                            os.path.join(d, "plughost.service")],
                           capture_output=True, text=True, timeout=60)
        t.check(p.returncode == 0 and not p.stderr.strip(),
                "systemd-analyze verify accepts both units", p.stdout + p.stderr)
        p = subprocess.run([sa, "security", "--offline=yes", os.path.join(d, "plughost.service")],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"exposure level for plughost.service: ([0-9.]+)", p.stdout + p.stderr)
        print(f"systemd-analyze security: exposure {m.group(1) if m else '?'}")
        t.check(m and float(m.group(1)) <= 3.5,
                "systemd-analyze security rates the service at most 3.5 (OK)", p.stdout[-2000:])
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
