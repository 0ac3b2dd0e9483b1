"""No plugin outlives its host: `plughost serve` is killed with SIGKILL (no
chance to clean up) while its plugins run, one of them in the middle of a
call, and every plugin process must be gone shortly after. The plugins die by
PR_SET_PDEATHSIG, armed before the loader is exec'd, with the socket's end of
file as the backstop. Runs in its own pid namespace (see CMakeLists.txt), so
a failure cannot leave strays on the machine."""

import json
import signal
import subprocess
import time

import harness


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    ck = harness.Checker("test_host_death")
    d = harness.plugin_dir(harness.echo_so(args), args.crashy)
    try:
        p = subprocess.Popen([args.plughost, "serve", d], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # One answered call proves the plugins are up; a hanging call keeps
        # one plugin busy inside a method when the host dies.
        p.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":[1]}\n')
        p.stdin.flush()
        line = p.stdout.readline()
        ck.check(json.loads(line).get("result") == [1], "host serving", line)
        p.stdin.write(b'{"jsonrpc":"2.0","id":2,"method":"crashy.hang"}\n')
        p.stdin.flush()
        time.sleep(0.3)
        kids = harness.children(p.pid)
        ck.check(len(kids) >= 2, f"plugins running as the host's children: {kids}")
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        deadline = time.time() + 5
        while time.time() < deadline and any(alive(k) for k in kids):
            time.sleep(0.05)
        left = [k for k in kids if alive(k)]
        ck.check(not left, "no plugin survives the host's SIGKILL", f"still alive: {left}")
    finally:
        harness.remove_dir(d)
    return ck.finish()


if __name__ == "__main__":
    raise SystemExit(main())
