#!/usr/bin/env python3
"""The operator's view of `serve --listen`: plughost/status and
plughost/metrics under a stream of calls while a plugin crashes and restarts
(every figure moves as it should, and the failures add up to the answers
the clients got), a named violation, the exposition parsed by a real
Prometheus parser (Debian's python3-prometheus-client) with hostile label
values, the --metrics-file written atomically, the `status` and `metrics`
commands, and who may ask: root and the host's user, --status-allow users,
never another user and never a plugin. Runs inside a pid namespace."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_serve_listen import NOBODY, Conn, Server, as_user, read_to_end, req  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's package, when the interpreter running the tests is not
    # Debian's own python3.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        text_string_to_metric_families = None
try:
    from prometheus_client.openmetrics.parser import \
        text_string_to_metric_families as openmetrics_families
except ImportError:
    openmetrics_families = None

# The version labels.c sends (LABELS_VERSION), and the file name it is
# served from (the host refuses names with controls in them): what a
# metrics line must survive.
HOSTILE_VERSION = '1"} 2\\\n# EOF\x1b[2J\u00e9'
HOSTILE_FILE = 'lab"el}\\s # EOF {x="1"} 2.so'


def view(s):
    """ph_text_escape(..., PH_TEXT_EXACT): printable ASCII but the
    backslash stands for itself, every other byte is \\xNN."""
    b = s.encode() if isinstance(s, str) else s
    return "".join(chr(c) if 0x20 <= c < 0x7f and c != 0x5c else "\\x%02x" % c for c in b)


def ask(path, method, conn=None, params=None):
    c = conn or Conn(path)
    c.send(req(99, method, params))
    m = c.answer(99)
    if conn is None:
        c.close()
    return m


def status(path):
    m = ask(path, "plughost/status")
    return (m or {}).get("result")


def plugin(st, name):
    for p in (st or {}).get("plugins", []):
        if p.get("name") == name:
            return p
    return {}


def failed_total(p):
    return sum(p.get("calls_failed", {}).values())


def parse(text):
    """{(name, frozenset(labels)): value} from a real parser, and the
    number of sample lines the text holds."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    lines = [ln for ln in text.split("\n") if ln and not ln.startswith("#")]
    return out, len(lines)


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def stream(path, method, stop, out):
    """Calls of method on one connection, 20 in flight at a time, until
    stop is set and every call is answered; out gets every answer."""
    c = Conn(path)
    sent = got = 0
    while not stop.is_set() or got < sent:
        while not stop.is_set() and sent - got < 20:
            c.send(req(sent, method))
            sent += 1
        m = c.recv()
        if m is None:
            break
        got += 1
        out.append(m)
    c.close()


def load_and_crash(t, ph, tmp, path, sv):
    before = status(path)
    t.check(before and before.get("plughost_status") == 1 and before["host"]["pid"] == sv.p.pid,
            "plughost/status answers with the host's own pid", before)
    cr0 = plugin(before, "crashy")
    inst0 = (cr0.get("instances") or [{}])[0]
    t.check(cr0.get("state") == "ready" and inst0.get("pid", 0) > 0 and
            inst0.get("memory_source") in ("cgroup", "rss") and inst0.get("memory_bytes", 0) > 0
            and "cpu_seconds" in inst0,
            "a ready plugin has one instance with pid, memory (and its source) and CPU", cr0)
    m0 = subprocess.run([ph, "metrics", path], capture_output=True, timeout=harness.TIMEOUT)
    s0, _ = parse(m0.stdout.decode())

    answers = []
    stop = threading.Event()
    th = threading.Thread(target=stream, args=(path, "crashy.ok", stop, answers))
    th.start()
    crashes = []
    for i in range(2):
        time.sleep(0.3)
        crashes.append(ask(path, "crashy.crash"))
    # At least 100 answers around the crashes, however slow the host
    # (under valgrind, twenty-fold).
    end = time.monotonic() + 60
    time.sleep(0.2)
    while len(answers) < 100 and time.monotonic() < end:
        time.sleep(0.05)
    stop.set()
    th.join(timeout=120)
    # Let the second restart happen (its backoff is 100 ms) and show.
    time.sleep(0.3)
    ask(path, "crashy.ok")
    after = status(path)
    cr1 = plugin(after, "crashy")
    inst1 = (cr1.get("instances") or [{}])[0]

    t.check(not th.is_alive() and len(answers) >= 100 and all("error" in c for c in crashes),
            "a stream of calls and 2 crashes among them were answered", (len(answers), crashes))
    ok = sum(1 for a in answers if a.get("result") == "ok")
    by_cause = {}
    for a in answers + crashes:
        if "error" in a:
            st = a["error"].get("data", {}).get("status", "?")
            by_cause[st] = by_cause.get(st, 0) + 1
    served = cr1.get("calls_served", 0) - cr0.get("calls_served", 0)
    t.check(served == ok + 1, "calls served went up by the results the clients got",
            (served, ok))
    f0, f1 = cr0.get("calls_failed", {}), cr1.get("calls_failed", {})
    t.check(f1.get("signaled", 0) - f0.get("signaled", 0) == by_cause.get("signaled", -1) and
            by_cause.get("signaled", 0) >= 2,
            "failures by cause 'signaled' went up by the crash errors the clients got",
            (f0, f1, by_cause))
    t.check(failed_total(cr1) - failed_total(cr0) == sum(by_cause.values()),
            "every failure is counted once, under one cause", (f1, by_cause))
    t.check(cr1.get("restarts", 0) - cr0.get("restarts", 0) == 2, "restarts went up by 2",
            (cr0.get("restarts"), cr1.get("restarts")))
    t.check(inst1.get("pid") and inst1.get("pid") != inst0.get("pid") and
            inst1.get("uptime_s", 1e9) < after["host"]["uptime_s"],
            "the instance has a new pid and a younger uptime", (inst0, inst1))
    t.check(after["host"]["calls_total"] - before["host"]["calls_total"] >= len(answers) + 3,
            "the host's calls_total went up by at least every answer",
            (before["host"], after["host"]))
    t.check(cr1.get("circuit", {}).get("state") == "closed" and
            cr1["circuit"].get("recent_failures") == 2,
            "the circuit is closed, with the 2 recent failures", cr1.get("circuit"))

    m1 = subprocess.run([ph, "metrics", path], capture_output=True, timeout=harness.TIMEOUT)
    s1, _ = parse(m1.stdout.decode())
    d = {}
    for name, labels in [("plughost_plugin_calls_served_total", {"plugin": "crashy"}),
                         ("plughost_plugin_restarts_total", {"plugin": "crashy"}),
                         ("plughost_plugin_calls_failed_total",
                          {"plugin": "crashy", "cause": "signaled"})]:
        d[name] = (value(s1, name, **labels) or 0) - (value(s0, name, **labels) or 0)
    # The metrics are read after the last status call, which itself is
    # one more served call.
    t.check(d["plughost_plugin_calls_served_total"] >= served and
            d["plughost_plugin_restarts_total"] == 2 and
            d["plughost_plugin_calls_failed_total"] == by_cause.get("signaled"),
            "the metrics moved as the status did", (d, served, by_cause))
    t.check(value(s1, "plughost_instance_pid", plugin="crashy", slot="0") == inst1.get("pid"),
            "the instance pid metric is the new process", inst1)


def violation(t, ph, path):
    m = ask(path, "labels.violate")
    t.check(m and m.get("error", {}).get("data", {}).get("status") == "violation",
            "labels.violate is ended by the sandbox", m)
    lb = plugin(status(path), "labels")
    v = lb.get("violations", {})
    now_ms = time.time() * 1000
    t.check(v.get("count") == 1 and v.get("last_syscall") == "ptrace" and
            abs(now_ms - v.get("last_unix_ms", 0)) < 60000 and
            lb.get("calls_failed", {}).get("violation") == 1,
            "the violation is counted with its syscall and when", lb)
    m = ask(path, "labels.ask_host")
    data = (m or {}).get("error", {}).get("data", {})
    t.check(data.get("status") == "protocol" and data.get("host_function") == "plughost/status",
            "a plugin asking the host for plughost/status is ended: no such host function", m)


def exposition(t, ph, path, hostile_path):
    r = subprocess.run([ph, "metrics", path], capture_output=True, timeout=harness.TIMEOUT)
    text = r.stdout.decode("ascii", "replace")
    t.check(r.returncode == 0 and all(0x20 <= b < 0x7f or b == 0x0a for b in r.stdout),
            "plughost metrics prints printable ASCII only", r.stdout[:300])
    if text_string_to_metric_families is None:
        t.check(False, "python3-prometheus-client is installed (.ci/install-deps)")
        return
    try:
        samples, nlines = parse(text)
    except Exception as e:  # noqa: BLE001 (the parser's complaint is the finding)
        t.check(False, "the exposition parses", repr(e))
        return
    t.check(len(samples) == nlines and nlines > 20,
            "the parser reads one sample per sample line, none merged or split",
            (len(samples), nlines))
    info = [dict(k[1]) for k in samples if k[0] == "plughost_plugin_info"]
    hostile = [i for i in info if i.get("plugin") == "labels"]
    t.check(len(hostile) == 1 and hostile[0].get("version") == view(HOSTILE_VERSION) and
            hostile[0].get("file") == view(hostile_path),
            "hostile version and file names round-trip as plughost's escaped view",
            (hostile, view(HOSTILE_VERSION)))
    t.check(value(samples, "plughost_plugin_last_violation_timestamp_seconds",
                  plugin="labels", syscall="ptrace") is not None,
            "the last violation carries its syscall as a label",
            [k for k in samples if "violation" in k[0]])
    types = {}
    for ln in text.split("\n"):
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(" ")
            types[name] = typ
    t.check(all(n.endswith("_total") for n, ty in types.items() if ty == "counter") and
            all(n.startswith("plughost_") for n in types),
            "counters end in _total and every name starts with plughost_", types)


def openmetrics(t, ph, path, hostile_path):
    r = subprocess.run([ph, "metrics", "--openmetrics", path], capture_output=True,
                       timeout=harness.TIMEOUT)
    text = r.stdout.decode("ascii", "replace")
    t.check(r.returncode == 0 and text.endswith("\n# EOF\n"),
            "plughost metrics --openmetrics ends with # EOF", text[-200:])
    if openmetrics_families is None:
        t.check(False, "python3-prometheus-client's OpenMetrics parser is installed")
        return
    try:
        fams = list(openmetrics_families(text))
    except Exception as e:  # noqa: BLE001 (the parser's complaint is the finding)
        t.check(False, "the OpenMetrics exposition parses", repr(e))
        return
    types = {f.name: (f.type, f.unit) for f in fams}
    t.check(types.get("plughost_plugin_calls_failed") == ("counter", "") and
            types.get("plughost_plugin") == ("info", "") and
            types.get("plughost_instance_memory_bytes") == ("gauge", "bytes"),
            "OpenMetrics families: counters without _total, info, units", types)
    info = [s.labels for f in fams for s in f.samples
            if s.name == "plughost_plugin_info" and s.labels.get("plugin") == "labels"]
    t.check(len(info) == 1 and info[0].get("version") == view(HOSTILE_VERSION) and
            info[0].get("file") == view(hostile_path),
            "hostile labels round-trip through the OpenMetrics parser too", info)
    m = ask(path, "plughost/metrics", params={"format": "json"})
    t.check(m and m.get("error", {}).get("code") == -32602,
            "an unknown metrics format is refused with -32602", m)
    m = ask(path, "plughost/metrics", params={"format": "openmetrics"})
    t.check(m and m.get("result", {}).get("content_type", "").startswith(
                "application/openmetrics-text; version=1.0.0"),
            "the OpenMetrics answer names its content type", (m or {}).get("result", {}).keys())


def metrics_file(t, prom):
    end = time.monotonic() + 10
    while not os.path.exists(prom) and time.monotonic() < end:
        time.sleep(0.1)
    st1 = os.stat(prom) if os.path.exists(prom) else None
    t.check(st1 is not None and stat.S_IMODE(st1.st_mode) == 0o644,
            "--metrics-file is written with mode 0644", st1)
    if st1 is None:
        return
    end = time.monotonic() + 10
    while os.stat(prom).st_ino == st1.st_ino and time.monotonic() < end:
        time.sleep(0.1)
    st2 = os.stat(prom)
    t.check(st2.st_ino != st1.st_ino, "it is replaced by rename each interval, not rewritten",
            (st1.st_ino, st2.st_ino))
    left = [f for f in os.listdir(os.path.dirname(prom)) if f != os.path.basename(prom)]
    t.check(not left, "no temporary file is left beside it", left)
    if text_string_to_metric_families:
        with open(prom) as f:
            samples, nlines = parse(f.read())
        t.check(len(samples) == nlines and
                value(samples, "plughost_plugin_up", plugin="crashy") == 1,
                "the file parses and says crashy is up", nlines)


def commands(t, ph, path):
    r = subprocess.run([ph, "status", path], capture_output=True, timeout=harness.TIMEOUT)
    out = r.stdout.decode("ascii", "replace")
    t.check(r.returncode == 0 and "crashy" in out and "ready" in out and "signaled" in out and
            "the last ptrace at" in out and all(0x20 <= b < 0x7f or b == 0x0a for b in r.stdout),
            "plughost status prints a table of printable ASCII", out)
    r = subprocess.run([ph, "status", "--json", path], capture_output=True,
                       timeout=harness.TIMEOUT)
    try:
        js = json.loads(r.stdout)
    except ValueError:
        js = None
    t.check(r.returncode == 0 and js and plugin(js, "labels").get("version") == HOSTILE_VERSION,
            "plughost status --json is the status object, strings whole", r.stdout[:300])
    bad = os.path.join(os.path.dirname(path), "bad.json")
    with open(bad, "w") as f:
        json.dump({"serve": {"status_allow": ["no-such-user-here"]}}, f)
    r = harness.run(ph, ["check-config", bad])
    t.check(r.rc == 2 and b"status_allow" in r.err and b"no such user" in r.err,
            "check-config names an unknown user in serve.status_allow", r.describe())
    for opts, what in [(["--status-allow", "0"], "--status-allow"),
                       (["--metrics-file", bad + ".prom"], "--metrics-file")]:
        r = harness.run(ph, opts + ["serve", os.path.dirname(path)])
        t.check(r.rc == 2 and b"go with --listen" in r.err, f"{what} without --listen is a usage "
                "error", r.describe())
    r = subprocess.run([ph, "status", os.path.join(os.path.dirname(path), "none.sock")],
                       capture_output=True, timeout=harness.TIMEOUT)
    t.check(r.returncode == 9 and b"none.sock" in r.stderr, "no server: exit 9, saying where",
            r.stderr)


def ask_as(path, uid, gid, methods):
    """From a child as uid: one connection, one request per method; the
    answers."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            as_user(uid, gid)
            c = Conn(path)
            got = []
            for i, m in enumerate(methods):
                c.send(req(i, m))
                got.append(c.answer(i, 10))
            os.write(w, json.dumps({"got": got}).encode())
        except Exception as e:  # noqa: BLE001 (reported to the parent)
            os.write(w, json.dumps({"exception": repr(e)}).encode())
        os._exit(0)
    os.close(w)
    out = read_to_end(r)
    os.waitpid(pid, 0)
    return json.loads(out or b"{}").get("got") or [None] * len(methods)


def who_may_ask(t, ph, plugdir, tmp, path, sv):
    if os.geteuid() != 0:
        print("skipped (needs root): another uid is refused")
        return
    got = ask_as(path, NOBODY, NOBODY, ["plughost/status", "plughost/metrics", "crashy.ok"])
    t.check(all(g and g.get("error", {}).get("code") == -32010 and
                "uid 65534" in g["error"].get("data", {}).get("detail", "") for g in got[:2]) and
            got[2] and got[2].get("result") == "ok",
            "an allowed client of another uid gets -32010 for status and metrics, and its "
            "calls still work", got)
    t.check(sv.wait_stderr("refused plughost/status: uid 65534"),
            "the refusal is logged", sv.stderr()[-2000:])
    p2 = os.path.join(tmp, "allow.sock")
    sv2 = Server(ph, plugdir, p2, ["--listen", p2, "--socket-mode", "0666", "--allow-user",
                                   str(NOBODY), "--status-allow", str(NOBODY)])
    try:
        got = ask_as(p2, NOBODY, NOBODY, ["plughost/status"])
        t.check(got[0] and got[0].get("result", {}).get("plughost_status") == 1,
                "--status-allow lets that uid ask", got)
    finally:
        rc = sv2.stop()
    t.check(rc == 0, "that server stops with exit 0", sv2.stderr()[-2000:])

    # The configuration's serve.status_allow, by name.
    cfg = os.path.join(tmp, "status.json")
    with open(cfg, "w") as f:
        json.dump({"serve": {"allow_users": [NOBODY], "socket_mode": "0666",
                             "status_allow": ["nobody"]}}, f)
    p3 = os.path.join(tmp, "cfg.sock")
    sv3 = Server(ph, plugdir, p3, ["--config", cfg, "--listen", p3])
    try:
        got = ask_as(p3, NOBODY, NOBODY, ["plughost/metrics"])
        t.check(got[0] and "plughost_plugin_up" in got[0].get("result", {}).get("text", ""),
                "the configuration's serve.status_allow lets a user by name ask", got)
    finally:
        sv3.stop()


def mcp_has_none(t, ph, plugdir, tmp):
    path = os.path.join(tmp, "mcp.sock")
    sv = Server(ph, plugdir, path, ["--mcp", "--listen", path])
    try:
        c = Conn(path)
        c.send(req(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": "t", "version": "1"}}))
        c.recv()
        c.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        c.send(req(1, "tools/list"))
        tools = [x.get("name", "") for x in ((c.answer(1) or {}).get("result") or {}).get(
            "tools", [])]
        c.send(req(2, "plughost/status"))
        m = c.answer(2)
        c.close()
        t.check(tools and "crashy__ok" in tools and not [x for x in tools if "plughost" in x or
                                                         "status" in x or "metrics" in x],
                "the MCP tool list has the plugins' methods and nothing of the host's", tools)
        t.check(m and "error" in m and "result" not in m,
                "an MCP session is not answered plughost/status", m)
    finally:
        sv.stop()


def stdio_has_none(t, ph, plugdir):
    r = harness.run(ph, ["serve", plugdir],
                    stdin=(json.dumps(req(1, "plughost/status")) + "\n").encode())
    try:
        m = json.loads(r.out.split(b"\n")[0])
    except ValueError:
        m = {}
    t.check(m.get("error", {}).get("code") == -32601,
            "serve on stdio does not offer plughost/status", r.describe())


def main():
    ap = harness.argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plughost", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--crashy", required=True)
    ap.add_argument("--labels", required=True, help="labels.so")
    args, _ = ap.parse_known_args()
    t = harness.Checker("test_status")
    ph = args.plughost
    tmp = tempfile.mkdtemp(prefix="plughost-status-")
    os.chmod(tmp, 0o755)  # another uid must reach the socket
    try:
        plugdir = os.path.join(tmp, "plugins")
        os.mkdir(plugdir)
        shutil.copy(args.crashy, plugdir)
        hostile_path = os.path.join(plugdir, HOSTILE_FILE)
        shutil.copy(args.labels, hostile_path)
        os.mkdir(os.path.join(tmp, "textfile"))
        prom = os.path.join(tmp, "textfile", "plughost.prom")
        path = os.path.join(tmp, "s.sock")
        sv = Server(ph, plugdir, path, ["--listen", path, "--socket-mode", "0666",
                                        "--allow-user", str(NOBODY), "--metrics-file", prom,
                                        "--metrics-interval", "1"])
        try:
            load_and_crash(t, ph, tmp, path, sv)
            violation(t, ph, path)
            exposition(t, ph, path, hostile_path)
            openmetrics(t, ph, path, hostile_path)
            metrics_file(t, prom)
            commands(t, ph, path)
            who_may_ask(t, ph, plugdir, tmp, path, sv)
            # Under the sanitizers and valgrind, a leak or a bad access in
            # the status path shows here.
            rc = sv.stop()
            t.check(rc == 0, "the server stops with exit 0 on SIGTERM", sv.stderr()[-2000:])
        finally:
            sv.stop()
        stdio_has_none(t, ph, plugdir)
        mcp_has_none(t, ph, plugdir, tmp)
    finally:
        harness.remove_dir(tmp)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
