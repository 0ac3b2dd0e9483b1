#!/usr/bin/env python3
"""Hostile-plugin isolation test: runs one attack plugin against plughost.

Each attack plugin (tests/isolation/plugins/<attack>.c) is built in the
modes MODES_OF gives it: atk_<attack>.so runs the attack in its `attack`
method, ctor_<attack>.so in a constructor, i.e. while the plugin is being
loaded, and init_<attack>.so in the plugin's init callback, which runs after
dlopen() but before the handshake. This driver copies one of them, with the
benign echo plugin, into a fresh directory and checks that plughost reports
what the tables below expect, through its own error data, then that it
still serves echo.echo. It prints one line per check, e.g.

    BLOCKED atk_socket_inet.attack [call]: violation syscall=socket arch=x86_64

and exits 0 when every check passed, 1 otherwise. CMake runs it inside a
fresh pid namespace (unshare --pid), which bounds what an escaped kill(-1)
or kill(0) can reach; plughost also gets a session of its own here so that
kill(0, ...) aims at plughost's group and not at ctest's.

The tables are the suite's single source of truth: CMake asks for the
cases (--cmake-cases), and docs/security.md's table of attacks is generated
from them (--markdown) and checked against them (--check-doc).
"""

import argparse
import glob
import json
import os
import re
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


def V(syscall, arch="x86_64", **data):
    """Each item of data must also appear, exactly, in the report."""
    return {"status": "violation", "syscall": syscall, "arch": arch, "data": data}


def REFUSED(errno_name):
    return {"status": "refused", "errno": errno_name}


def RETURNED():
    """The attack ran to its end unharmed and reports no escape."""
    return {"status": "returned"}


def ENDED(status, absent=(), **data):
    """The host ended the plugin with this status ("protocol", "limit",
    "signaled", "setup_error", ...): `call` exits with that status's code,
    and the error data holds each item given ("breach" as a substring, the
    others exactly) and none of the keys in `absent`."""
    return {"status": status, "data": data, "absent": tuple(absent)}


def PLAIN_ERROR(code, original_code, data=None):
    """The method's own error, passed through as a plain method error: the
    code rewritten, the original kept, data exactly as the method gave it
    (a "status" in it included: the code says it is not the host's); `call`
    exits 1."""
    return {"status": "plain_error", "code": code, "original_code": original_code,
            "data": data}


def ANSWERED(result, breach):
    """The call gets this result (from the plugin's first answer), then the
    host ends the plugin with a protocol breach containing `breach`."""
    return {"status": "answered", "result": result, "breach": breach}


# attack -> the syscall (libseccomp's name) the host must report.
ATTACKS = {
    # files
    "open_read": "openat",
    "open_legacy": "open",
    "open_write_tmp": "openat",
    "open_path": "openat",
    "lib_symlink": "openat",
    "creat": "creat",
    "openat2": "openat2",
    "name_to_handle_at": "name_to_handle_at",
    "access": "access",
    "stat": "newfstatat",
    "fstatat_path": "newfstatat",
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

# Attacks beyond one forbidden syscall: on the channel, on the host's
# reports, on the plugin's own process. attack -> outcome (or a list of
# acceptable outcomes) in method mode, and in the other modes unless
# OVERRIDES says otherwise.
BEYOND = {
    # framing and size (docs/protocol.md section 2)
    "garbage": ENDED("protocol", breach="invalid JSON"),
    "bad_flag": ENDED("protocol", breach="neither LAST nor MORE"),
    "oversize_record": ENDED("limit", limit="record_size"),
    "max_message": ENDED("limit", limit="max_message", limit_value=100000),
    # floods: the host must stay responsive; the flooding plugin may finish
    # or be ended, but never as a violation
    "flood_log": [RETURNED(), ENDED("limit"), ENDED("killed"), ENDED("timeout")],
    "flood_notify": [RETURNED(), ENDED("limit"), ENDED("killed"), ENDED("timeout")],
    # messages out of place
    "forged_id": ENDED("protocol", breach="response to a request never sent"),
    "duplicate_response": ANSWERED({"forged": 1}, "response to a request never sent"),
    "unknown_hostfn": ENDED("protocol", breach="unknown host function", host_function="host.exec"),
    "hello_again": ENDED("protocol", breach="handshake out of place"),
    "loaded_again": ENDED("protocol", breach="ph.loaded out of place"),
    "notify_dollar": ENDED("protocol", breach="unknown reserved notification"),
    "notify_ph": ENDED("protocol", breach="unknown reserved notification"),
    "send_fd": ENDED("protocol", breach="descriptor sent where none is expected"),
    "send_fd_more": ENDED("protocol", breach="descriptor on a continued record"),
    "send_fd_two": ENDED("protocol", breach="more than one descriptor on a record"),
    "send_fd_ctrunc": ENDED("protocol", breach="truncated control data"),
    # blobs (docs/protocol.md, "Blobs"): only a sealed memfd of the stated size
    "blob_unsealed": ENDED("protocol", breach="blob: blob is not sealed"),
    "blob_size_lie": ENDED("protocol", breach="blob: blob size 10 differs"),
    "blob_socket": ENDED("protocol", breach="blob: blob descriptor is not a memfd"),
    # files through the host (host.open) and grants that only narrow
    "host_open_ungranted": REFUSED("EACCES"),
    "host_open_dotdot": REFUSED("EINVAL"),
    "drop_grant_unknown": ENDED("protocol", breach="ph.drop_grant of an unknown grant"),
    "sandbox_again": ENDED("protocol", breach="ph.sandbox out of place"),
    # forging the host's reports
    "raise_sigsys": [RETURNED(), ENDED("signaled", signal="SIGSYS")],
    "abort_self": [ENDED("signaled", signal="SIGSEGV"), ENDED("signaled", signal="SIGABRT")],
    "fake_violation": PLAIN_ERROR(-32603, -32002, {
        "status": "violation", "syscall": "reboot", "syscall_nr": 169, "arch": "x86_64",
        "phase": "running"}),
    "fake_setup_failed": ENDED("setup_error", absent=("syscall", "syscall_nr"), stage="seccomp",
                               exit_code=3),
    # the host's terminal, other plugins, /proc, /sys, /dev
    "sendmsg_stdout": REFUSED("EBADF"),
    "peer_vm_readv": V("process_vm_readv"),
    "peer_kill": V("kill"),
    # The signal the plugin tried to send is reported in its own field,
    # apart from the signal the plugin itself died of.
    "kill_host": V("kill", sent_signal=9),
    "kill_all": V("kill", sent_signal=9),
    "kill_pgrp": V("kill", sent_signal=15),
    "tgkill_host": V("tgkill", sent_signal=9),
    "proc_self_mem": V("openat"),
    "proc_self_fd": V("openat"),
    "sysfs": V("openat"),
    "dev_mem": V("openat"),
    # executable memory only from the plugin file and root's libraries
    # (host/load_window.c), in every phase
    "memfd_exec": V("mmap"),
    "memfd_exec_noexec": V("mmap"),
    "memfd_exec_alias": V("mmap"),
    # fstat of a held descriptor is answered by the host
    "fstat_held": RETURNED(),
}

# attack -> the modes it is built and run in, where not ("method", "ctor").
# The init mode is for attacks aimed at the loading window; method-only
# attacks need a call in progress (or the SDK's context).
ALL_MODES = ("method", "ctor", "init")
METHOD_ONLY = ("method",)
MODES_OF = {
    "open_read": ALL_MODES,
    "open_write_tmp": ALL_MODES,
    "open_path": ALL_MODES,
    "proc_pid_mem": ALL_MODES,
    "mmap_wx": ALL_MODES,
    "mprotect_exec": ALL_MODES,
    "socket_inet": ALL_MODES,
    "proc_self_mem": ALL_MODES,
    "proc_self_fd": ALL_MODES,
    "sysfs": ALL_MODES,
    "dev_mem": ALL_MODES,
    "memfd_exec": ALL_MODES,
    "memfd_exec_noexec": ALL_MODES,
    "memfd_exec_alias": ALL_MODES,
    "fstatat_path": ALL_MODES,
    "fstat_held": ALL_MODES,
    "hello_again": ALL_MODES,
    "raise_sigsys": ALL_MODES,
    "flood_log": METHOD_ONLY,
    "flood_notify": METHOD_ONLY,
    "duplicate_response": METHOD_ONLY,
    "notify_dollar": METHOD_ONLY,
    "notify_ph": METHOD_ONLY,
    "send_fd": METHOD_ONLY,
    "send_fd_more": METHOD_ONLY,
    "send_fd_two": METHOD_ONLY,
    "send_fd_ctrunc": METHOD_ONLY,
    "blob_unsealed": METHOD_ONLY,
    "blob_size_lie": METHOD_ONLY,
    "blob_socket": METHOD_ONLY,
    "host_open_ungranted": METHOD_ONLY,
    "host_open_dotdot": METHOD_ONLY,
    "drop_grant_unknown": METHOD_ONLY,
    "fake_violation": METHOD_ONLY,
    "fake_setup_failed": ("ctor", "init"),
    "peer_vm_readv": METHOD_ONLY,
    "peer_kill": METHOD_ONLY,
}

# attack -> extra plughost options for every command of its test.
HOST_ARGS = {"max_message": ["--max-message", "100000"]}

# Attacks aimed at the neighbouring plugin: in serve mode the driver passes
# echo's pid (as plughost sees it) instead of plughost's own.
AT_PEER = ("peer_vm_readv", "peer_kill")

# (attack, mode) -> outcome, where the default is wrong.
OVERRIDES = {
    # A second hello from init claims the name "echo": depending on which
    # message the host reads first, the claim is refused as a duplicate of
    # echo.so (whose file matches the name, so it keeps it) or the plugin is
    # ended for the out-of-place handshake. Either way echo keeps serving.
    ("hello_again", "init"): [ENDED("protocol", breach="handshake out of place"),
                              ENDED("setup_error")],
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
    # through only for the library directories, the linker's cache and the
    # plugin file (host/load_window.c): any other path is a violation named
    # by the host itself, whatever layers the machine has. Landlock and the
    # private root would refuse it again in the kernel.
    ("open_read", "ctor"): V("openat"),
    ("proc_pid_mem", "ctor"): V("openat"),
    ("proc_pid_maps", "ctor"): V("openat"),
    ("open_path", "ctor"): V("openat"),
    # A library-directory path whose symlink leads out: refused in the
    # kernel (private root: ENOENT, Landlock: EACCES) or, without either,
    # by the host's own open beneath the directory (EACCES).
    ("lib_symlink", "ctor"): [REFUSED("EACCES"), REFUSED("ENOENT")],
    # init() runs after the loader reports ph.loaded, when the window is shut:
    # any open from init is a violation, stricter than from a constructor.
    ("open_read", "init"): V("openat"),
    ("proc_pid_mem", "init"): V("openat"),
    ("proc_pid_maps", "init"): V("openat"),
    ("open_path", "init"): V("openat"),
    # mmap_wx/mprotect_exec in ctor/init mode stay V(...): the dynamic linker
    # never needs a writable and executable mapping, nor mprotect to add
    # PROT_EXEC to memory, so the loading window must not grant them either.
    # Read-only opens of /proc, /sys and /dev from a constructor: the same
    # window, the same answer as open_read.
    ("proc_self_fd", "ctor"): V("openat"),
    ("sysfs", "ctor"): V("openat"),
    ("dev_mem", "ctor"): V("openat"),
    ("proc_self_fd", "init"): V("openat"),
    ("sysfs", "init"): V("openat"),
    ("dev_mem", "init"): V("openat"),
    # Before the handshake, a request is refused before its name is looked at.
    ("unknown_hostfn", "ctor"): ENDED("protocol", breach="host call before the handshake"),
    # ph.loaded from a constructor is accepted (the window closes early, which
    # only hurts the plugin); the loader's own ph.loaded is then the breach.
    # Within init the window is already closed, so the plugin's is the breach.
    # A ph.hello from init (after ph.loaded) is taken as the handshake; the
    # runtime's own ph.hello is then the breach.
}

MODES = ("method", "ctor", "init")
PREFIX = {"method": "atk_", "ctor": "ctor_", "init": "init_"}
# Files an escaped attack may leave behind (the attack names them with its pid).
LEFTOVERS = "/tmp/plughost-atk-*"
# What write_stdout writes if it escapes; plughost must never relay it.
ESCAPE_MARK = "PLUGHOST-ATK-ESCAPED"
EXIT_OK, EXIT_NOT_LOADED = 0, 3


# `plughost call` exit codes by the status in the error data (README.md).
EXIT_FOR_STATUS = {"violation": 6, "protocol": 7, "limit": 8, "timeout": 5, "signaled": 4,
                   "exited": 4, "killed": 4, "setup_error": 3}
EXIT_METHOD_ERROR = 1


def all_attacks():
    return sorted(set(ATTACKS) | set(BEYOND))


def modes_of(attack):
    return MODES_OF.get(attack, ("method", "ctor"))


def expectations(attack, mode):
    exp = OVERRIDES.get((attack, mode))
    if exp is None and mode == "init":
        exp = OVERRIDES.get((attack, "ctor"))
    if exp is None:
        exp = BEYOND.get(attack) or V(ATTACKS[attack])
    return exp if isinstance(exp, list) else [exp]


def describe(exp):
    st = exp["status"]
    if st == "violation":
        return "violation %s" % exp["syscall"] + ("" if exp["arch"] == "x86_64"
                                                   else " (%s)" % exp["arch"])
    if st == "refused":
        return "refused %s" % exp["errno"]
    if st == "returned":
        return "returns unharmed"
    if st == "plain_error":
        return "plain method error %d (original_code %d, no status)" % (exp["code"],
                                                                      exp["original_code"])
    if st == "answered":
        return "first answer stands, then protocol: %s" % exp["breach"]
    items = ["%s %s" % (k, v) for k, v in sorted(exp["data"].items())]
    items += ["no %s" % k for k in exp["absent"]]
    return st + (" (%s)" % ", ".join(items) if items else "")


def loads(exps):
    """Whether a plugin attacking while loading is expected to load."""
    return exps[0]["status"] in ("refused", "returned")


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
# Matching what plughost said against an expectation. Each returns None if
# it matches, else why not.
# ---------------------------------------------------------------------------


def check_plugin_named(data, plugin):
    # Before its handshake a plugin has no name yet, so the host names it
    # by its file.
    named = data.get("plugin", plugin)
    if named != plugin and os.path.basename(str(named)) != plugin + ".so":
        return "plugin %r, want %r or its file" % (named, plugin)
    return None


def match_violation(error, exp, plugin):
    """A JSON-RPC error object showing the expected sandbox kill."""
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
    if not isinstance(data.get("syscall_nr"), int):
        return "no integer syscall_nr in data %s" % json.dumps(data)
    for key, want in exp.get("data", {}).items():
        if data.get(key) != want:
            return "%s %r, want %r (data %s)" % (key, data.get(key), want, json.dumps(data))
    return check_plugin_named(data, plugin)


def match_ended(error, exp, plugin):
    """A JSON-RPC error object showing the plugin ended with exp's status."""
    if not isinstance(error, dict):
        return "no error object"
    data = error.get("data")
    if not isinstance(data, dict):
        return "error without data: %s" % json.dumps(error)
    if data.get("status") != exp["status"]:
        return "status %r, want %r (data %s)" % (data.get("status"), exp["status"],
                                                 json.dumps(data))
    for key, want in sorted(exp["data"].items()):
        got = data.get(key)
        if key == "breach" and isinstance(got, str) and want in got:
            continue
        if got != want:
            return "data.%s %r, want %r (data %s)" % (key, got, want, json.dumps(data))
    for key in exp["absent"]:
        if key in data:
            return "data.%s present (%r), the plugin chose it (data %s)" % (key, data[key],
                                                                           json.dumps(data))
    return check_plugin_named(data, plugin)


def match_plain(error, exp, plugin):
    """The plugin's own error, disarmed: a plain method error."""
    if not isinstance(error, dict):
        return "no error object"
    data = error.get("data")
    if error.get("code") != exp["code"]:
        return "code %r, want %r (%s)" % (error.get("code"), exp["code"], json.dumps(error))
    if error.get("original_code") != exp["original_code"]:
        return "original_code %r, want %r" % (error.get("original_code"), exp["original_code"])
    if data != exp["data"]:
        return "data %s, want exactly the method's %s" % (json.dumps(data),
                                                           json.dumps(exp["data"]))
    return None


def match_result(result, exp):
    """The `attack` method's report, for outcomes where the plugin lives."""
    if exp["status"] == "answered":
        return None if result == exp["result"] else "result %s, want %s" % (
            json.dumps(result), json.dumps(exp["result"]))
    if not isinstance(result, dict) or "escaped" not in result:
        return "not an attack report: %s" % json.dumps(result)
    if result["escaped"] is not False:
        return "ESCAPED: %s" % json.dumps(result)
    if exp["status"] == "refused" and result.get("errno_name") != exp["errno"]:
        return "errno %r, want %r (%s)" % (result.get("errno_name"), exp["errno"],
                                           json.dumps(result))
    return None


KILLS = ("violation", "protocol", "limit", "signaled", "exited", "killed", "timeout",
         "setup_error")


def match_error(error, exp, plugin):
    if exp["status"] == "violation":
        return match_violation(error, exp, plugin)
    if exp["status"] == "plain_error":
        return match_plain(error, exp, plugin)
    return match_ended(error, exp, plugin)


def host_report(error):
    """Whether the error's code is one the host reserves, so that its data
    is the host's report (ph_rpc_code_reserved)."""
    code = (error or {}).get("code")
    return isinstance(code, int) and (code == -32800 or (
        -32768 <= code <= -32000 and code not in (-32602, -32603)))


def summary(error):
    data = (error or {}).get("data") or {}
    if not host_report(error) or not isinstance(data, dict):
        return "plain error %s (original_code %s)" % ((error or {}).get("code"),
                                                      (error or {}).get("original_code"))
    if data.get("status") == "violation":
        return "violation syscall=%s arch=%s nr=%s" % (data.get("syscall"),
                                                       data.get("arch", "x86_64"),
                                                       data.get("syscall_nr"))
    if "status" not in data:
        return "plain error %s (original_code %s)" % (error.get("code"),
                                                      error.get("original_code"))
    extra = {k: v for k, v in data.items() if k in ("breach", "limit", "signal", "exit_code",
                                                    "stage")}
    return "%s %s" % (data.get("status"), json.dumps(extra, sort_keys=True))


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

    def __init__(self, plughost, hargs, directory, errfile):
        self.proc = subprocess.Popen([plughost] + hargs + ["serve", directory], stdin=subprocess.PIPE,
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


def check_call(rep, plughost, hargs, directory, plugin, exps, timeout):
    """`plughost call DIR PLUGIN.attack`: exit code and error line."""
    what = "%s.attack [call]" % plugin
    # plughost's pid is unknown before it runs, so attacks on "another
    # process" aim at pid 1 here: the pid namespace's init (this script),
    # which drops the SIGKILL of a descendant, so an escape stays harmless.
    params = json.dumps({"pid": 1})
    rc, out, err = run_cli(plughost, hargs + ["call", directory, plugin + ".attack", params],
                           timeout)
    early = not plugin.startswith("atk_")
    reasons = []
    for exp in exps:
        st = exp["status"]
        if st in KILLS or st == "plain_error":
            code = EXIT_METHOD_ERROR if st == "plain_error" else EXIT_FOR_STATUS[st]
            # Calling a plugin that was killed while loading: "not loaded",
            # or the status that stopped it; the error data says which.
            wants = (EXIT_NOT_LOADED, code) if early else (code,)
            if rc not in wants:
                reasons.append("exit %s, want %s" % (rc, " or ".join(map(str, wants))))
                continue
            error = error_line(err)
            why = match_error(error, exp, plugin)
            if why is None:
                rep.ok("BLOCKED" if st != "plain_error" else "DISARMED", what,
                       "exit %d, %s" % (rc, summary(error)))
                return
            reasons.append(why)
        else:
            if st == "answered" and rc == EXIT_FOR_STATUS["protocol"]:
                # The breach may be read before the call's answer is passed on.
                why = match_ended(error_line(err), ENDED("protocol", breach=exp["breach"]),
                                  plugin)
                if why is None:
                    rep.ok("BLOCKED", what, "exit 7, %s" % summary(error_line(err)))
                    return
                reasons.append(why)
                continue
            if rc != EXIT_OK:
                reasons.append("exit %s, want 0" % rc)
                continue
            try:
                result = json.loads(out)
            except ValueError:
                reasons.append("stdout is not JSON: %r" % out[:200])
                continue
            why = match_result(result, exp)
            if why is None:
                rep.ok(st.upper(), what, describe(exp))
                return
            reasons.append(why)
    rep.fail(what, "; ".join(reasons) + "\n  stdout: %s\n  stderr: %s" % (
        out.strip()[:500], err.strip()[-1500:]))


def check_list(rep, plughost, hargs, directory, plugin, exps, timeout):
    """`plughost list --json DIR` for a ctor/init attack: a load error naming
    what happened, or the plugin listed when it was not stopped."""
    what = "%s (load) [list]" % plugin
    rc, out, err = run_cli(plughost, hargs + ["list", "--json", directory], timeout)
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
    check_list.loaded = plugin in names
    reasons = []
    for exp in exps:
        if exp["status"] in KILLS:
            if plugin in names:
                reasons.append("NOT BLOCKED: loaded although it should have ended (%s)"
                               % describe(exp))
                continue
            error = errors.get(plugin + ".so")
            why = match_error(error, exp, plugin)
            if why is None:
                rep.ok("BLOCKED", what, summary(error))
                return
            reasons.append("errors entry: %s" % why)
        else:
            if plugin in names:
                rep.ok("LOADED", what, "its early attack did not stop it (%s)" % describe(exp))
                return
            reasons.append("not loaded: %s" % json.dumps(errors.get(plugin + ".so")))
    rep.fail(what, "; ".join(reasons) + "\n  list: %s\n  stderr: %s" % (out[:800], err[-800:]))


def loader_pid_of(host_pid, directory, plugin_file):
    """The pid (as plughost sees it) of a loader child serving a file.
    The child's arguments and mappings need not name the file (the host may
    hand it over as a descriptor or a copy). Where plugins have cgroups,
    a child's cgroup is named after its file (FILE.N); otherwise plughost
    starts a directory's plugins in sorted file order and a pool's further
    instances later, so before any restart the n-th oldest child serves the
    n-th file."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry) as f:
                ppid = [line.split()[1] for line in f if line.startswith("PPid:")]
        except OSError:
            continue
        if ppid == [str(host_pid)]:
            children.append(int(entry))
    stem = plugin_file[:-3] if plugin_file.endswith(".so") else plugin_file
    named = re.compile(r"/%s\.[0-9]+$" % re.escape(stem))
    for pid in sorted(children):
        try:
            with open("/proc/%d/cgroup" % pid) as f:
                if any(named.search(line.strip()) for line in f):
                    return pid
        except OSError:
            continue
    files = sorted(f for f in os.listdir(directory) if f.endswith(".so"))
    if len(children) < len(files) or plugin_file not in files:
        return None
    return sorted(children)[: len(files)][files.index(plugin_file)]


def wait_for_text(errfile, text, seconds):
    """Whether `text` shows up in the file within the time given."""
    deadline = time.monotonic() + seconds
    while True:
        errfile.seek(0)
        if text in errfile.read().decode(errors="replace"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def check_attack_answer(rep, what, ans, exps, plugin):
    """The serve session's answer to PLUGIN.attack."""
    if not isinstance(ans, dict):
        rep.fail(what, ans)
        return None
    reasons = []
    for exp in exps:
        if exp["status"] in KILLS or exp["status"] == "plain_error":
            why = match_error(ans.get("error"), exp, plugin)
            if why is None:
                rep.ok("BLOCKED" if exp["status"] != "plain_error" else "DISARMED", what,
                       summary(ans.get("error")))
                return exp
            if "result" in ans:
                why = "NOT BLOCKED, attack returned %s" % json.dumps(ans["result"])
        else:
            why = match_result(ans.get("result"), exp)
            if why is None:
                rep.ok(exp["status"].upper(), what, describe(exp))
                return exp
            if "error" in ans:
                why = "error %s" % json.dumps(ans["error"])
        reasons.append(why)
    rep.fail(what, "; ".join(reasons))
    return None


def check_serve(rep, plughost, hargs, directory, plugin, attack, exps, mode, errpath):
    """One `plughost serve` session: the positive control, the attack (for
    method mode), then echo.echo, which must still work."""
    with open(errpath, "w+b") as errfile:
        srv = Server(plughost, hargs, directory, errfile)
        rid = 0
        # Where more than one outcome is right (raise_sigsys: ignored by a
        # pid namespace's init, fatal to any other process), `list` saw
        # which one this machine gives.
        loaded = loads(exps) if len(exps) == 1 else getattr(check_list, "loaded", loads(exps))
        if mode == "method" or loaded:
            rid += 1
            ans = srv.request(rid, plugin + ".ping")
            if isinstance(ans, dict) and ans.get("result") == "pong":
                rep.ok("OK", "%s.ping [serve]" % plugin, "pong (positive control)")
            else:
                rep.fail("%s.ping [serve]" % plugin, "want result \"pong\", got %s" % (ans,))
            rid += 1
            what = "%s.attack [serve]" % plugin
            # Here the driver knows plughost's pid: attacks on "another
            # process" aim at the host itself, or at the echo plugin.
            target = srv.proc.pid
            if attack in AT_PEER:
                target = loader_pid_of(srv.proc.pid, directory, "echo.so")
                if target is None:
                    rep.fail(what, "cannot find the echo plugin's pid")
                    target = 1
                else:
                    rep.ok("TARGET", what, "echo's loader, pid %d" % target)
            ans = srv.request(rid, plugin + ".attack", {"pid": target}, timeout=25.0)
            matched = check_attack_answer(rep, what, ans, exps, plugin)
            if matched and matched["status"] == "answered":
                text = "broke the protocol: " + matched["breach"]
                if wait_for_text(errfile, text, 5.0):
                    rep.ok("BLOCKED", "%s [serve]" % plugin, "then ended: %s" % text)
                else:
                    rep.fail("%s [serve]" % plugin, "no report %r after the answer" % text)
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
    if "violation" not in [e["status"] for e in exps] and "killed by the sandbox" in stderr:
        rep.fail("plughost serve", "the host reported a sandbox kill for this attack")
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


# ---------------------------------------------------------------------------
# The tables, for CMake and for docs/security.md.
# ---------------------------------------------------------------------------

PLUGIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")
DOC_BEGIN = "<!-- attacks: generated by tests/isolation/run_attacks.py --markdown -->"
DOC_END = "<!-- attacks: end -->"


def cmake_cases():
    """attack:mode pairs, ';'-separated: a CMake list."""
    return ";".join("%s:%s" % (a, m) for a in all_attacks() for m in modes_of(a))


def source_comment(attack):
    """The attack's own account of itself: its source's leading comment."""
    with open(os.path.join(PLUGIN_DIR, attack + ".c")) as f:
        text = f.read()
    if not text.startswith("/*"):
        return ""
    body = text[2:text.index("*/")]
    words = " ".join(line.strip().lstrip("*").strip() for line in body.splitlines()).split()
    return " ".join(words).replace("|", "\\|")


def expected_text(attack):
    """What the host must report, mode by mode (modes sharing one text are
    grouped)."""
    groups = []
    for mode in modes_of(attack):
        text = " or ".join(describe(e) for e in expectations(attack, mode))
        for g in groups:
            if g[1] == text:
                g[0].append(mode)
                break
        else:
            groups.append(([mode], text))
    if len(groups) == 1:
        return groups[0][1]
    return "; ".join("%s: %s" % ("/".join(ms), text) for ms, text in groups)


def markdown():
    rows = ["| attack | modes | what it tries | the host must report |",
            "|---|---|---|---|"]
    for a in all_attacks():
        opts = " (with `%s`)" % " ".join(HOST_ARGS[a]) if a in HOST_ARGS else ""
        rows.append("| `%s` | %s | %s%s | %s |" % (a, ", ".join(modes_of(a)), source_comment(a),
                                                   opts, expected_text(a).replace("|", "\\|")))
    cases = sum(len(modes_of(a)) for a in all_attacks())
    rows.append("")
    rows.append("%d attacks, %d tests (one per attack and mode)." % (len(all_attacks()), cases))
    return "\n".join(rows)


def check_doc(path):
    """Whether the generated table in the document is the current one."""
    with open(path) as f:
        text = f.read()
    if DOC_BEGIN not in text or DOC_END not in text:
        print("FAIL     %s: no generated table between %r and %r" % (path, DOC_BEGIN, DOC_END))
        return 1
    have = text[text.index(DOC_BEGIN) + len(DOC_BEGIN):text.index(DOC_END)].strip()
    if have != markdown():
        print("FAIL     %s: the table of attacks is stale; regenerate it with\n"
              "         tests/isolation/run_attacks.py --markdown" % path)
        return 1
    print("PASS     %s: the table of attacks matches the suite" % path)
    return 0


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--cmake-cases":
        print(cmake_cases(), end="")
        return 0
    if len(sys.argv) == 2 and sys.argv[1] == "--markdown":
        print(markdown())
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "--check-doc":
        return check_doc(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plughost", required=True, help="the plughost executable")
    ap.add_argument("--plugin", required=True, help="the hostile plugin .so to test")
    ap.add_argument("--echo", required=True, help="the benign echo plugin .so")
    ap.add_argument("--attack", required=True, choices=all_attacks())
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per plughost command")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--host-arg", action="append", default=[],
                    help="an option for every plughost command (the layer matrix's "
                         "--accept-weaker)")
    a = ap.parse_args()

    plugin = PREFIX[a.mode] + a.attack
    if os.path.basename(a.plugin) != plugin + ".so":
        ap.error("--plugin must be %s.so for --attack %s --mode %s" % (plugin, a.attack, a.mode))
    if a.mode not in modes_of(a.attack):
        ap.error("attack %s is not run in mode %s" % (a.attack, a.mode))
    exps = expectations(a.attack, a.mode)
    hargs = a.host_arg + HOST_ARGS.get(a.attack, [])
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
            check_list(rep, a.plughost, hargs, directory, plugin, exps, a.timeout)
        check_call(rep, a.plughost, hargs, directory, plugin, exps, a.timeout)
        check_serve(rep, a.plughost, hargs, directory, plugin, a.attack, exps, a.mode,
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
