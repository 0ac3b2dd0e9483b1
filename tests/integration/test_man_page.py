"""The man page says what --help says: every command in `plughost --help`
has an entry in COMMANDS whose tag line renders whole (balanced brackets,
the command first), every option any --help names appears in the rendered
page, and groff renders it without a warning. Skipped (77) without groff."""

import os
import re
import shutil
import subprocess

import harness

MAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "man",
                   "plughost.1")
COMMANDS = ["list", "call", "serve", "profile", "replay", "pin", "check-config", "doctor",
            "status", "metrics", "new"]


def helps(plughost):
    texts = [subprocess.run([plughost, "--help"], capture_output=True, text=True).stdout]
    for c in COMMANDS:
        r = subprocess.run([plughost, c, "--help"], capture_output=True, text=True)
        texts.append(r.stdout + r.stderr)
    return "\n".join(texts)


def balanced(line):
    depth = 0
    for ch in line:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def main():
    args = harness.parse_args(__doc__.splitlines()[0])
    ck = harness.Checker("test_man_page")
    if not shutil.which("groff"):
        print("test_man_page: no groff, skipped")
        return 77
    warn = subprocess.run(["groff", "-ww", "-man", "-z", MAN], capture_output=True, text=True)
    ck.check(warn.returncode == 0 and not warn.stderr.strip(), "groff renders without warnings",
             warn.stderr)
    page = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", "-rLL=200n", MAN],
                          capture_output=True, text=True).stdout
    help_text = helps(args.plughost)
    top = subprocess.run([args.plughost, "--help"], capture_output=True, text=True).stdout
    listed = re.findall(r"^  ([a-z][a-z-]+) ", top.split("commands:")[1].split("options:")[0],
                        re.M)
    ck.check(set(listed) == set(COMMANDS), "the test knows every command of --help",
             "help: %s" % sorted(set(listed)))
    commands = page.split("\nCOMMANDS\n", 1)[-1].split("\nOPTIONS\n", 1)[0]
    tags = [l.strip() for l in commands.splitlines() if re.match(r"^       [a-z]", l)]
    for c in COMMANDS:
        mine = [t for t in tags if t.split()[0] == c]
        ck.check(mine and all(balanced(t) for t in mine),
                 "COMMANDS has a whole tag line for %s" % c, "tags: %s" % mine)
    # Command lines of --help that start with an option ("serve --mcp DIR")
    # are entries of their own.
    for first, second in re.findall(r"^  ([a-z][a-z-]+) (--[a-z]+)", top, re.M):
        ck.check(any(t.startswith(first + " " + second) for t in tags),
                 "COMMANDS has an entry for %s %s" % (first, second), "tags: %s" % tags)
    for opt in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*[a-z])", help_text))):
        ck.check(re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", page) is not None,
                 "the page documents %s" % opt)
    return ck.finish()


if __name__ == "__main__":
    raise SystemExit(main())
