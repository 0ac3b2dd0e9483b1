#!/usr/bin/env python3
"""Hostile-plugin isolation test: runs one attack plugin against plughost.

Each attack plugin (tests/isolation/plugins/<attack>.c) is built twice:
atk_<attack>.so runs the attack in its `attack` method, ctor_<attack>.so in
a constructor, i.e. while the plugin is being loaded; a few are also built
as init_<attack>.so, attacking from the plugin's init callback, which runs
after dlopen() but before the handshake. This driver copies one
of them, with the benign echo plugin, into a fresh directory and checks that
plughost reports what the table below expects, then that it still serves
echo.echo. It prints one line per check, e.g.

    BLOCKED atk_socket_inet.attack [call]: violation syscall=socket arch=x86_64

and exits 0 when every check passed, 1 otherwise. CMake runs it inside a
fresh pid namespace (unshare --pid), which bounds what an escaped kill(-1)
or kill(0) can reach; plughost also gets a session of its own here so that
kill(0, ...) aims at plughost's group and not at ctest's.
"""

import argparse
import glob
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time

# ---------------------------------------------------------------------------
# Expectations, as data. An outcome is one of:
#   V(syscall, arch)  the host killed the plugin and named the call: exit 6
#                     from `call`, error data status "violation"; for a ctor
#                     attack, an entry in `list --json`'s "errors".
#   REFUSED(errno)    the sandbox answered the call with that errno (no kill):
#                     the attack method returns {"escaped": false,
#                     "errno_name": errno}; a ctor/init attack lets the
#                     plugin load and `attack` reports what it saw then.
# An entry may also be a list of acceptable outcomes. The init mode uses the
# ctor mode's entry unless it has its own: both run in the loading window.
# ---------------------------------------------------------------------------


def V(syscall, arch="x86_64"):
    return {"status": "violation", "syscall": syscall, "arch": arch}


def REFUSED(errno_name):
    return {"status": "refused", "errno": errno_name}


# attack -> the syscall (libseccomp's name) the host must report.
ATTACKS = {
    # files
    "open_read": "openat",
    "open_legacy": "open",
    "open_write_tmp": "openat",
    "open_path": "openat",
    "creat": "creat",
    "openat2": "openat2",
    "name_to_handle_at": "name_to_handle_at",
    "access": "access",
    "stat": "newfstatat",
    "statx": "statx",
    "mkdir": "mkdir",
    # network and IPC
    "socket_inet": "socket",
    "socket_unix": "socket",
    "socket_netlink": "socket",
    "socket_raw": "socket",
    "connect": "connect",
    "socketpair": "socketpair",
    # new processes and code
    "fork": "fork",
    "vfork": "vfork",
    "clone": "clone",
    "clone3": "clone3",
    "execve": "execve",
    "execveat": "execveat",
    "memfd_create": "memfd_create",
    # other processes (the host, when the driver can name it)
    "ptrace_traceme": "ptrace",
    "ptrace_attach": "ptrace",
    "process_vm_readv": "process_vm_readv",
    "process_vm_writev": "process_vm_writev",
    "proc_pid_mem": "openat",
    "proc_pid_maps": "openat",
    "pidfd_open": "pidfd_open",
    "kill_host": "kill",
    "kill_all": "kill",
    "kill_pgrp": "kill",
    "tgkill_host": "tgkill",
    "sched_setaffinity": "sched_setaffinity",
    # kernel attack surface
    "io_uring_setup": "io_uring_setup",
    "bpf": "bpf",
    "perf_event_open": "perf_event_open",
    "userfaultfd": "userfaultfd",
    "add_key": "add_key",
    "keyctl": "keyctl",
    "syslog": "syslog",
    # namespaces and mounts
    "mount": "mount",
    "umount2": "umount2",
    "unshare": "unshare",
    "setns": "setns",
    "chroot": "chroot",
    "pivot_root": "pivot_root",
    # the confinement itself
    "setrlimit": "setrlimit",
    "prlimit64": "prlimit64",
    "seccomp": "seccomp",
    "prctl_seccomp": "prctl",
    "personality": "personality",
    "ioctl_tiocsti": "ioctl",
    # machine state
    "settimeofday": "settimeofday",
    "clock_settime": "clock_settime",
    "reboot": "reboot",
    "init_module": "init_module",
    "finit_module": "finit_module",
    "kexec_load": "kexec_load",
    "sethostname": "sethostname",
    "iopl": "iopl",
    "modify_ldt": "modify_ldt",
    "setuid": "setuid",
    "setresuid": "setresuid",
    # executable memory
    "mprotect_exec": "mprotect",
    "mmap_wx": "mmap",
    # other ABIs: named by the host with their own architecture
    "int80": "getpid",
    "x32": "getpid",
    "int80_mmap": "mmap",
    # answered with an errno by design (see OVERRIDES)
    "write_stdout": "write",
}

# (attack, mode) -> outcome, where the default V(ATTACKS[attack]) is wrong.
OVERRIDES = {
    ("int80", "method"): V("getpid", "x86"),
    ("int80", "ctor"): V("getpid", "x86"),
    ("x32", "method"): V("getpid", "x32"),
    ("x32", "ctor"): V("getpid", "x32"),
    ("int80_mmap", "method"): V("mmap", "x86"),
    ("int80_mmap", "ctor"): V("mmap", "x86"),
    # write() to anything but the channel gets EBADF so that a stray printf
    # fails instead of killing the plugin (sandbox/policy.c).
    ("write_stdout", "method"): REFUSED("EBADF"),
    ("write_stdout", "ctor"): REFUSED("EBADF"),
    # While loading, the host lets the dynamic linker's read-only openat
    # through (host/violation.c). Landlock refuses paths outside the library
    # directories (EACCES); in a private mount namespace, whose root holds
    # only the libraries and the plugin, the path does not even exist
    # (ENOENT). Either way no file is reached. A write-mode openat
    # (open_write_tmp) is still a violation.
    ("open_read", "ctor"): [REFUSED("EACCES"), REFUSED("ENOENT")],
    ("proc_pid_mem", "ctor"): [REFUSED("EACCES"), REFUSED("ENOENT")],
    ("proc_pid_maps", "ctor"): [REFUSED("EACCES"), REFUSED("ENOENT")],
    # Landlock does not check O_PATH opens, so only the host's rule or the
    # mount namespace can keep /etc/passwd out of reach: the dynamic linker
    # never opens O_PATH, so the rule should refuse it outright.
    ("open_path", "ctor"): [V("openat"), REFUSED("ENOENT")],
    # init() runs after the loader reports ph.loaded, when the window is shut:
    # any open from init is a violation, stricter than from a constructor.
    ("open_read", "init"): V("openat"),
    ("proc_pid_mem", "init"): V("openat"),
    ("proc_pid_maps", "init"): V("openat"),
    ("open_path", "init"): V("openat"),
    # mmap_wx/mprotect_exec in ctor/init mode stay V(...): the dynamic linker
    # never needs a writable and executable mapping, nor mprotect to add
    # PROT_EXEC to memory, so the loading window must not grant them either.
}

MODES = ("method", "ctor", "init")
PREFIX = {"method": "atk_", "ctor": "ctor_", "init": "init_"}
# Files an escaped attack may leave behind (the attack names them with its pid).
LEFTOVERS = "/tmp/plughost-atk-*"
# What write_stdout writes if it escapes; plughost must never relay it.
ESCAPE_MARK = "PLUGHOST-ATK-ESCAPED"
EXIT_OK, EXIT_NOT_LOADED, EXIT_VIOLATION = 0, 3, 6
# Calling a plugin that was killed while loading: "not loaded", or the
# violation that stopped it; either way the error data must name the call.
EXITS_LOAD_KILLED = (EXIT_NOT_LOADED, EXIT_VIOLATION)


def expectations(attack, mode):
    exp = OVERRIDES.get((attack, mode))
    if exp is None and mode == "init":
        exp = OVERRIDES.get((attack, "ctor"))
    if exp is None:
        exp = V(ATTACKS[attack])
    return exp if isinstance(exp, list) else [exp]


def describe(exp):
    if exp["status"] == "violation":
        return "violation syscall=%s arch=%s" % (exp["syscall"], exp["arch"])
    return "refused with %s" % exp["errno"]


class Report:
    """Collects one line per check; failures make the exit status."""

    def __init__(self):
        self.failures = 0

    def ok(self, verb, what, text):
        print("%-8s %s: %s" % (verb, what, text), flush=True)

    def fail(self, what, text):
        self.failures += 1
        print("FAIL     %s: %s" % (what, text), flush=True)


# ---------------------------------------------------------------------------
# Matching what plughost said against an expectation.
# ---------------------------------------------------------------------------


def match_violation(error, exp, plugin):
    """Returns None if the JSON-RPC error object shows the expected kill,
    else why not."""
    if not isinstance(error, dict):
        return "no error object"
    data = error.get("data")
    if not isinstance(data, dict):
        return "error without data: %s" % json.dumps(error)
    if data.get("status") != "violation":
        return "status %r, want 'violation' (data %s)" % (data.get("status"), json.dumps(data))
    if data.get("syscall") != exp["syscall"]:
        return "syscall %r, want %r (data %s)" % (data.get("syscall"), exp["syscall"],
                                                  json.dumps(data))
    # x86_64 is the default, so the host may leave it out; another ABI must
    # be named, or the report would point at the wrong syscall table.
    arch = data.get("arch", "x86_64" if exp["arch"] == "x86_64" else None)
    if arch != exp["arch"]:
        return "arch %r, want %r" % (data.get("arch"), exp["arch"])
    # Before its handshake a plugin has no name yet, so the host names it
    # by its file.
    named = data.get("plugin", plugin)
    if named != plugin and os.path.basename(str(named)) != plugin + ".so":
        return "plugin %r, want %r or its file" % (named, plugin)
    if not isinstance(data.get("syscall_nr"), int):
        return "no integer syscall_nr in data %s" % json.dumps(data)
    return None


def match_refused(result, exp):
    if not isinstance(result, dict) or "escaped" not in result:
        return "not an attack report: %s" % json.dumps(result)
    if result["escaped"] is not False:
        return "ESCAPED: %s" % json.dumps(result)
    if result.get("errno_name") != exp["errno"]:
        return "errno %r, want %r (%s)" % (result.get("errno_name"), exp["errno"],
                                           json.dumps(result))
    return None


def summary(error):
    data = (error or {}).get("data") or {}
    return "violation syscall=%s arch=%s nr=%s" % (data.get("syscall"),
                                                   data.get("arch", "x86_64"),
                                                   data.get("syscall_nr"))


# ---------------------------------------------------------------------------
# Running plughost.
# ---------------------------------------------------------------------------


def run_cli(plughost, args, timeout):
    """Runs one plughost command; returns (exit code, stdout, stderr)."""
    try:
        p = subprocess.run([plughost] + args, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or "", e.stderr or ""
    return p.returncode, p.stdout, p.stderr


def error_line(stderr):
    """The JSON-RPC error object plughost prints as `error: {...}`."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("error: "):
            try:
                return json.loads(line[len("error: "):])
            except ValueError:
                return None
    return None


class Server:
    """`plughost serve DIR`: one JSON-RPC message per line each way."""

    def __init__(self, plughost, directory, errfile):
        self.proc = subprocess.Popen([plughost, "serve", directory], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=errfile,
                                     start_new_session=True)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.seen = []  # every line read, to look for leaked output

    def request(self, rid, method, params=None, timeout=15.0):
        """Sends a request; returns its response object, or a string saying
        why there is none."""
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            return "host gone before the request (%s, exit %s)" % (e, self.proc.poll())
        deadline = time.monotonic() + timeout
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                self.seen.append(line.decode(errors="replace"))
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue  # not ours to judge here
                if isinstance(obj, dict) and obj.get("id") == rid:
                    return obj
                continue  # notifications, events
            left = deadline - time.monotonic()
            if left <= 0:
                return "no answer within %.0f s" % timeout
            if not self.sel.select(left):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return "host closed its output (exit %s)" % self.proc.poll()
            self.buf += chunk

    def close(self):
        """Ends the session; returns plughost's exit status (None if hung)."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        rest = self.proc.stdout.read() or b""
        self.seen.extend(rest.decode(errors="replace").splitlines())
        self.proc.stdout.close()
        return rc


# ---------------------------------------------------------------------------
# The checks.
# ---------------------------------------------------------------------------


def check_call(rep, plughost, directory, plugin, exps, timeout):
    """`plughost call DIR PLUGIN.attack`: exit code and error line."""
    what = "%s.attack [call]" % plugin
    # plughost's pid is unknown before it runs, so attacks on "another
    # process" aim at pid 1 here: the pid namespace's init (this script),
    # which drops the SIGKILL of a descendant, so an escape stays harmless.
    params = json.dumps({"pid": 1})
    rc, out, err = run_cli(plughost, ["call", directory, plugin + ".attack", params], timeout)
    reasons = []
    for exp in exps:
        if exp["status"] == "violation":
            wants = (EXIT_VIOLATION,) if plugin.startswith("atk_") else EXITS_LOAD_KILLED
            error = error_line(err)
            if rc not in wants:
                reasons.append("exit %s, want %s" % (rc, " or ".join(map(str, wants))))
                continue
            why = match_violation(error, exp, plugin)
            if why is None:
                rep.ok("BLOCKED", what, "exit %d, %s" % (rc, summary(error)))
                return
            reasons.append(why)
        else:
            if rc != EXIT_OK:
                reasons.append("exit %s, want 0" % rc)
                continue
            try:
                result = json.loads(out)
            except ValueError:
                reasons.append("stdout is not JSON: %r" % out[:200])
                continue
            why = match_refused(result, exp)
            if why is None:
                rep.ok("REFUSED", what, "%s, escaped=false" % exp["errno"])
                return
            reasons.append(why)
    rep.fail(what, "; ".join(reasons) + "\n  stdout: %s\n  stderr: %s" % (
        out.strip()[:500], err.strip()[-1500:]))


def check_list(rep, plughost, directory, plugin, exps, timeout):
    """`plughost list --json DIR` for a ctor/init attack: a load error naming
    the call, or the plugin listed when the call was merely refused."""
    what = "%s (load) [list]" % plugin
    rc, out, err = run_cli(plughost, ["list", "--json", directory], timeout)
    try:
        listing = json.loads(out)
    except ValueError:
        rep.fail(what, "exit %s, stdout not JSON: %r\n  stderr: %s" % (rc, out[:300], err[-800:]))
        return
    names = [p.get("name") for p in listing.get("plugins", [])]
    errors = {os.path.basename(str(e.get("file", ""))): e.get("error")
              for e in listing.get("errors", [])}
    if "echo" not in names:
        rep.fail(what, "echo is not listed next to the hostile plugin: %s" % out[:500])
    reasons = []
    for exp in exps:
        if exp["status"] == "violation":
            if plugin in names:
                reasons.append("NOT BLOCKED: loaded although it ran %s while loading"
                               % exp["syscall"])
                continue
            error = errors.get(plugin + ".so")
            why = match_violation(error, exp, plugin)
            if why is None:
                rep.ok("BLOCKED", what, summary(error))
                return
            reasons.append("errors entry: %s" % why)
        else:
            if plugin in names:
                rep.ok("LOADED", what, "its early call was refused, plugin loaded")
                return
            reasons.append("not loaded: %s" % json.dumps(errors.get(plugin + ".so")))
    rep.fail(what, "; ".join(reasons) + "\n  list: %s\n  stderr: %s" % (out[:800], err[-800:]))


def check_serve(rep, plughost, directory, plugin, exps, mode, errpath):
    """One `plughost serve` session: the positive control, the attack (for
    method mode), then echo.echo, which must still work."""
    loads = mode == "method" or exps[0]["status"] == "refused"
    with open(errpath, "w+b") as errfile:
        srv = Server(plughost, directory, errfile)
        rid = 0
        if loads:
            rid += 1
            ans = srv.request(rid, plugin + ".ping")
            if isinstance(ans, dict) and ans.get("result") == "pong":
                rep.ok("OK", "%s.ping [serve]" % plugin, "pong (positive control)")
            else:
                rep.fail("%s.ping [serve]" % plugin, "want result \"pong\", got %s" % (ans,))
            rid += 1
            what = "%s.attack [serve]" % plugin
            # Here the driver knows plughost's pid: attacks on "another
            # process" aim at the host itself.
            ans = srv.request(rid, plugin + ".attack", {"pid": srv.proc.pid})
            if not isinstance(ans, dict):
                rep.fail(what, ans)
            else:
                reasons = []
                for exp in exps:
                    if exp["status"] == "violation":
                        why = match_violation(ans.get("error"), exp, plugin)
                        if why is None:
                            rep.ok("BLOCKED", what, summary(ans.get("error")))
                            break
                        if "result" in ans:
                            why = "NOT BLOCKED, attack returned %s" % json.dumps(ans["result"])
                    else:
                        why = match_refused(ans.get("result"), exp)
                        if why is None:
                            rep.ok("REFUSED", what, "%s, escaped=false" % exp["errno"])
                            break
                        if "error" in ans:
                            why = "error %s" % json.dumps(ans["error"])
                    reasons.append(why)
                else:
                    rep.fail(what, "; ".join(reasons))
        rid += 1
        ans = srv.request(rid, "echo.echo", [1])
        if isinstance(ans, dict) and ans.get("result") == [1]:
            rep.ok("OK", "echo.echo [serve]", "[1]: host still serves after the attack")
        else:
            rep.fail("echo.echo [serve]", "want result [1], got %s" % (ans,))
        rc = srv.close()
        errfile.seek(0)
        stderr = errfile.read().decode(errors="replace")
    if rc is None or rc < 0:
        rep.fail("plughost serve", "did not end cleanly at end of input (status %s)" % rc)
    leaked = [line for line in srv.seen if ESCAPE_MARK in line]
    if leaked or ESCAPE_MARK in stderr:
        rep.fail("plughost serve", "plugin output reached the host's stdout/stderr")
    if rep.failures:
        print("  serve stdout: %s\n  serve stderr: %s" % ("\n    ".join(srv.seen[-20:]),
                                                           stderr.strip()[-2000:]))


def remove_leftovers():
    for path in glob.glob(LEFTOVERS):
        try:
            if os.path.isdir(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plughost", required=True, help="the plughost executable")
    ap.add_argument("--plugin", required=True, help="the hostile plugin .so to test")
    ap.add_argument("--echo", required=True, help="the benign echo plugin .so")
    ap.add_argument("--attack", required=True, choices=sorted(ATTACKS))
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--timeout", type=float, default=12.0, help="seconds per plughost command")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()

    plugin = PREFIX[a.mode] + a.attack
    if os.path.basename(a.plugin) != plugin + ".so":
        ap.error("--plugin must be %s.so for --attack %s --mode %s" % (plugin, a.attack, a.mode))
    exps = expectations(a.attack, a.mode)
    print("attack %s, mode %s, expecting %s" % (a.attack, a.mode,
                                                " or ".join(describe(e) for e in exps)))

    rep = Report()
    work = tempfile.mkdtemp(prefix="plughost-iso-")
    try:
        # A directory of its own, so the host starts only what this test
        # needs; copies, not symlinks, since the host loads regular files.
        directory = os.path.join(work, "plugins")
        os.mkdir(directory)
        shutil.copy(a.plugin, os.path.join(directory, plugin + ".so"))
        shutil.copy(a.echo, os.path.join(directory, "echo.so"))
        if a.mode != "method":
            check_list(rep, a.plughost, directory, plugin, exps, a.timeout)
        check_call(rep, a.plughost, directory, plugin, exps, a.timeout)
        check_serve(rep, a.plughost, directory, plugin, exps, a.mode,
                    os.path.join(work, "serve.err"))
    finally:
        remove_leftovers()
        if a.keep:
            print("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("%s %s [%s]" % ("PASS" if not rep.failures else "FAIL (%d)" % rep.failures, plugin,
                          a.mode))
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
