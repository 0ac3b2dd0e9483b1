#!/usr/bin/env python3
"""plughost new NAME [DIR]: writes the plugin template with NAME in every
file name and text; refuses a bad NAME, a DIR that is not empty, a file or a
symbolic link as DIR, and a missing template, leaving nothing behind; the
exit codes are those the man page gives. Building what it writes against an
installed plughost is .ci/install-check's part."""

import os
import sys
import tempfile

import harness

ap = harness.argparse.ArgumentParser(description=__doc__)
ap.add_argument("--plughost", required=True)
ap.add_argument("--template", required=True)
args, _ = ap.parse_known_args()
c = harness.Checker("test_new")
ph = args.plughost
FILES = ["CMakeLists.txt", "Makefile", "README.md", "{n}.c", "test_{n}.c"]


def new(*argv, template=args.template, cwd=None):
    env = dict(os.environ, PLUGHOST_TEMPLATE=template)
    import subprocess
    p = subprocess.run([ph, "new"] + list(argv), capture_output=True, env=env, cwd=cwd,
                       timeout=harness.TIMEOUT)
    return harness.Result(p.returncode, p.stdout, p.stderr)


tmp = tempfile.mkdtemp(prefix="plughost-new-")
try:
    # DIR defaults to ./NAME.
    r = new("weather_2-x", cwd=tmp)
    d = os.path.join(tmp, "weather_2-x")
    names = sorted(os.listdir(d)) if os.path.isdir(d) else []
    want = sorted(f.format(n="weather_2-x") for f in FILES)
    c.check(r.rc == 0 and names == want, "new NAME writes ./NAME with the template's files",
            f"{names}\n{r.describe()}")
    texts = {}
    for f in names:
        with open(os.path.join(d, f)) as fh:
            texts[f] = fh.read()
    c.check(texts and not any("hello" in t for t in texts.values()),
            "no trace of the template's own name is left",
            [f for f, t in texts.items() if "hello" in t])
    c.check('.name = "weather_2-x"' in texts.get("weather_2-x.c", "")
            and "plughost_add_plugin(weather_2-x weather_2-x.c)" in texts.get("CMakeLists.txt", "")
            and "weather_2-x.so:" in texts.get("Makefile", "")
            and 'ph_test_call(&ph_plugin_v1, "greet"' in texts.get("test_weather_2-x.c", ""),
            "the plugin, its targets and its test are named NAME", texts.get("weather_2-x.c"))
    c.check(b"weather_2-x.greet" in r.out and b"cmake -S . -B build" in r.out,
            "it prints how to build, test and call it", r.describe())

    # An existing empty directory is used; a second run into it is refused.
    e = os.path.join(tmp, "empty")
    os.mkdir(e)
    r = new("calc", e)
    c.check(r.rc == 0 and os.path.exists(os.path.join(e, "calc.c")),
            "new NAME DIR writes into an empty DIR", r.describe())
    before = {f: open(os.path.join(e, f)).read() for f in os.listdir(e)}
    with open(os.path.join(e, "calc.c"), "a") as fh:
        fh.write("/* mine */\n")
    r = new("calc", e)
    c.check(r.rc == 2 and b"not empty" in r.err
            and open(os.path.join(e, "calc.c")).read().endswith("/* mine */\n")
            and sorted(os.listdir(e)) == sorted(before),
            "a DIR that is not empty is refused (exit 2) and left as it was", r.describe())

    # A file, or a symbolic link, as DIR.
    f = os.path.join(tmp, "afile")
    open(f, "w").write("x")
    r = new("calc", f)
    c.check(r.rc == 2 and open(f).read() == "x", "a file as DIR is refused (exit 2)",
            r.describe())
    target = os.path.join(tmp, "target")
    os.mkdir(target)
    link = os.path.join(tmp, "link")
    os.symlink(target, link)
    r = new("calc", link)
    c.check(r.rc == 2 and os.listdir(target) == [],
            "a symbolic link as DIR is refused; nothing is written through it", r.describe())

    # NAME: a plugin name that is also a file and target name.
    for bad in ["Weather", "-x", "_x", "a.b", "a/b", "", "x" * 64, "test", "all", "na me",
                "\u00e9t\u00e9", "a\nb"]:
        r = new(bad, os.path.join(tmp, "bad"))
        c.check(r.rc == 2 and not os.path.exists(os.path.join(tmp, "bad")),
                f"NAME {bad[:20]!r} is refused (exit 2), nothing made", r.describe())
    r = new("x" * 63, os.path.join(tmp, "long"))
    c.check(r.rc == 0, "a 63-byte NAME is accepted", r.describe())
    r = new()
    c.check(r.rc == 2, "no NAME: usage, exit 2", r.describe())
    r = new("a", "b", "c")
    c.check(r.rc == 2, "three arguments: usage, exit 2", r.describe())

    # No template: exit 9, nothing made.
    r = new("calc", os.path.join(tmp, "none"), template=os.path.join(tmp, "no-such-template"))
    c.check(r.rc == 9 and b"no plugin template" in r.err
            and not os.path.exists(os.path.join(tmp, "none")),
            "a missing template: exit 9, nothing made", r.describe())
    # A template missing one file: exit 9 before DIR is touched.
    part = os.path.join(tmp, "part")
    os.mkdir(part)
    for f in ["CMakeLists.txt", "Makefile", "README.md", "hello.c"]:
        with open(os.path.join(args.template, f)) as src, open(os.path.join(part, f), "w") as dst:
            dst.write(src.read())
    r = new("calc", os.path.join(tmp, "partial"), template=part)
    c.check(r.rc == 9 and not os.path.exists(os.path.join(tmp, "partial")),
            "an incomplete template: exit 9, nothing made", r.describe())

    r = harness.run(ph, ["new", "--help"])
    c.check(r.rc == 0 and b"usage: plughost new NAME [DIR]" in r.out, "new --help",
            r.describe())
finally:
    harness.remove_dir(tmp)

sys.exit(c.finish())
