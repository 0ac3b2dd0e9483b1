#!/usr/bin/env python3
"""The layer-removal matrix: the whole isolation suite (run_attacks.py, every
attack in every mode) run again on this machine as if it lacked a layer,
through `without`. In each configuration either the host refuses to start
plugins, naming what is missing, or every attack must still be contained.

    run_matrix.py BUILD_DIR [CONFIG...]

Configurations (docs/security.md, "Reduced modes"):
  no-landlock        root, kernel without Landlock: private root + seccomp
  no-userns          root in a namespace that forbids user namespaces
  non-root           an unprivileged host: user namespace + Landlock
  non-root-no-userns unprivileged, no user namespaces: Landlock alone
  non-root-no-landlock unprivileged, no Landlock: user namespace alone
  neither            unprivileged, neither: the host must refuse; with
                     --accept-weaker=no-fs-containment the suite must pass
Must run as root. Ends with "matrix: N passed, N failed"."""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "..", "isolation", "run_attacks.py")
NOBODY = "65534"

CONFIGS = {
    "no-landlock": (["--no-landlock"], []),
    "no-userns": (["--no-userns"], []),
    "non-root": (["--user", NOBODY], []),
    "non-root-no-userns": (["--user", NOBODY, "--no-userns"], []),
    "non-root-no-landlock": (["--user", NOBODY, "--no-landlock"], []),
    "neither": (["--user", NOBODY, "--no-userns", "--no-landlock"],
                ["--host-arg=--accept-weaker=no-fs-containment"]),
}

REFUSAL = b"no filesystem containment for plugins"
# The driver runs as an unprivileged user too: Debian's python, not one
# installed under root's home.
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def cases():
    out = subprocess.run([sys.executable, DRIVER, "--cmake-cases"], check=True,
                         capture_output=True, text=True).stdout
    return [c.split(":") for c in out.split(";") if c]


def plugin_of(build, attack, mode):
    name = ("atk_" if mode == "method" else mode + "_") + attack + ".so"
    return os.path.join(build, "tests", "isolation", name)


def run_case(build, wrap, extra, attack, mode):
    cmd = [os.path.join(build, "tests", "matrix", "without")] + wrap + [
        "--", PYTHON, DRIVER, "--plughost", os.path.join(build, "plughost"),
        "--plugin", plugin_of(build, attack, mode),
        "--echo", os.path.join(build, "tests", "isolation", "echo.so"),
        "--attack", attack, "--mode", mode] + extra
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=180)
        return r.returncode == 0, r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        return False, (e.stdout or b"") + b"\n(timed out)"


def refuses(build, wrap):
    """Without --accept-weaker the host must refuse, by name, with exit 3."""
    cmd = [os.path.join(build, "tests", "matrix", "without")] + wrap + [
        "--", os.path.join(build, "plughost"), "call",
        os.path.join(build, "tests", "isolation", "echo.so"), "echo.echo", "[1]"]
    r = subprocess.run(cmd, capture_output=True, timeout=60)
    return r.returncode == 3 and REFUSAL in r.stderr, r.stdout + r.stderr


def open_path_for_nobody(path):
    """The unprivileged configurations run the build as uid 65534, which
    must be able to reach it: directories above it without search permission
    for others get it for the run (and lose it again after). Returns what
    to restore."""
    changed = []
    d = os.path.dirname(path)
    while d and d != "/":
        mode = os.stat(d).st_mode
        if not mode & 0o001:
            os.chmod(d, mode | 0o001)
            changed.append((d, mode))
        d = os.path.dirname(d)
    return changed


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(CONFIGS)
    all_cases = cases()
    passed = failed = 0
    restore = open_path_for_nobody(os.path.join(os.path.abspath(DRIVER)))
    restore += open_path_for_nobody(os.path.join(build, "plughost"))
    try:
        passed, failed = run_configs(build, names, all_cases)
    finally:
        for d, mode in reversed(restore):
            os.chmod(d, mode)
    print("matrix: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def run_configs(build, names, all_cases):
    passed = failed = 0
    for name in names:
        wrap, extra = CONFIGS[name]
        t0 = time.monotonic()
        bad = []
        if name == "neither":
            ok, out = refuses(build, wrap)
            if not ok:
                bad.append(("refusal", out))
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(lambda c: (c, run_case(build, wrap, extra, *c)), all_cases))
        bad += [("%s.%s" % tuple(c), out) for c, (ok, out) in results if not ok]
        for what, out in bad:
            print("FAIL %s / %s\n%s" % (name, what, out.decode(errors="replace")[-3000:]))
        ok = not bad
        passed += ok
        failed += not ok
        print("%s %s: %d cases%s, %d failed (%.0f s)" % (
            "PASS" if ok else "FAIL", name, len(all_cases),
            " and the refusal" if name == "neither" else "", len(bad), time.monotonic() - t0),
            flush=True)
    return passed, failed


if __name__ == "__main__":
    sys.exit(main())
