"""SIGHUP reloads the plugin directory of `plughost serve`: a new plugin
starts, an untouched one keeps serving, a removed one stops."""

import json
import os
import shutil
import signal
import subprocess
import time

import harness


def ask(p, req):
    p.stdin.write((json.dumps(req) + "\n").encode())
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    ck = harness.Checker("test_serve_reload")
    d = harness.plugin_dir(harness.echo_so(args))
    textstats = os.path.join(args.plugins, "textstats.so")
    p = subprocess.Popen([args.plughost, "serve", d], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        r = ask(p, {"jsonrpc": "2.0", "id": 1, "method": "echo.echo", "params": [1]})
        ck.check(r.get("result") == [1], "echo before reload", r)
        r = ask(p, {"jsonrpc": "2.0", "id": 2, "method": "textstats.calc", "params": ["1+1"]})
        ck.check(r.get("error", {}).get("code") == -32601, "textstats absent at first", r)

        shutil.copy(textstats, d)
        p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        r = ask(p, {"jsonrpc": "2.0", "id": 3, "method": "textstats.calc", "params": ["1+1"]})
        ck.check(r.get("result") == 2.0, "new plugin serves after SIGHUP", r)
        r = ask(p, {"jsonrpc": "2.0", "id": 4, "method": "echo.echo", "params": [4]})
        ck.check(r.get("result") == [4], "untouched plugin still serves", r)

        os.unlink(os.path.join(d, "textstats.so"))
        p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        r = ask(p, {"jsonrpc": "2.0", "id": 5, "method": "textstats.calc", "params": ["1+1"]})
        ck.check(r.get("error", {}).get("code") == -32601, "removed plugin stopped", r)
        p.stdin.close()
        rc = p.wait(timeout=20)
        err = p.stderr.read().decode("utf-8", "replace")
        ck.check(rc == 0, "serve exits 0 at end of input", err)
        ck.check("reloaded" in err, "reload reported on stderr", err)
    finally:
        if p.poll() is None:
            p.kill()
        harness.remove_dir(d)
    return ck.finish()


if __name__ == "__main__":
    raise SystemExit(main())
