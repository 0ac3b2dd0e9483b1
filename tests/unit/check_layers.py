#!/usr/bin/env python3
"""Checks that each module of the host library calls only down.

The host library's modules are layered (docs/design.md, "Layers"): a module
may use a symbol defined in another module only if that module's layer is
strictly lower, or the pair is listed in SAME_LAYER below, and the graph of
such uses has no cycle. This reads the library's object files with nm, maps
each defined symbol to the module (source file) that defines it, and checks
every reference from one module to another against the table below.

Usage: check_layers.py NM OBJECT... (ctest passes $<TARGET_OBJECTS:...>).
A module the table does not list, or a listed module with no object, fails
the check too: a new file gets its layer when it is added.
"""
import os
import subprocess
import sys

# Layers bottom to top; a module's layer is the index of its row.
ROWS = [
    # leaves: clocks and errors, containers, escaping, hashing, scanning
    ["base", "htab", "timers", "text", "sha256", "jscan"],
    # the wire (sdk/), symbols, schemas
    ["wire", "symbolize", "schema", "worker"],
    # host-wide services with no notion of a call or an instance
    ["events", "modes", "files", "cgroup", "app_fd"],
    ["config", "wake", "load_window", "record"],
    # the call table, and what reads or answers calls without an instance
    ["calls"],
    ["status", "pins"],
    # the instance: its channel, its host functions, its messages, its end
    # and its seccomp notifications, its start
    ["channel"],
    ["hostfn"],
    ["supervisor"],
    ["ending", "violation"],
    ["spawn"],
    # the plugin: a named group of instances with one policy
    ["lazy", "pool"],
    # the API of calls and the loop; loading; making a host; the doctor
    ["host"],
    ["load", "blob"],
    ["setup"],
    ["doctor"],
    ["selftest"],
]
# module (source file without .c) -> layer
LAYERS = {m: i for i, row in enumerate(ROWS) for m in row}

# (from, to) pairs of one layer allowed to use each other's symbols; none
# today. A pair here must still not close a cycle.
SAME_LAYER = set()


def module_of(path):
    name = os.path.basename(path)
    return name.split(".", 1)[0]


def read_symbols(nm, obj):
    out = subprocess.run([nm, obj], check=True, capture_output=True, text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRGSVWi":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def main(argv):
    if len(argv) < 3:
        print("usage: check_layers.py NM OBJECT...", file=sys.stderr)
        return 2
    nm, objs = argv[1], [o for o in argv[2:] if o.endswith(".o")]
    owner, uses, problems = {}, {}, []
    for obj in objs:
        mod = module_of(obj)
        if mod not in LAYERS:
            problems.append(f"module {mod} ({obj}) has no layer in check_layers.py")
            continue
        defined, used = read_symbols(nm, obj)
        for sym in defined:
            owner[sym] = mod
        uses.setdefault(mod, set()).update(used)
    for mod in sorted(set(LAYERS) - set(uses)):
        problems.append(f"module {mod} is in the table but no object of it was given")

    edges = {}
    for mod, used in uses.items():
        for sym in used:
            to = owner.get(sym)
            if to and to != mod:
                edges.setdefault((mod, to), set()).add(sym)
    for (a, b), syms in sorted(edges.items()):
        ok = LAYERS[b] < LAYERS[a] or (LAYERS[b] == LAYERS[a] and (a, b) in SAME_LAYER)
        if not ok:
            problems.append(
                f"{a} (layer {LAYERS[a]}) calls up or across to {b} (layer {LAYERS[b]}): "
                + ", ".join(sorted(syms)))

    # No cycle, even through pairs allowed in SAME_LAYER.
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state = {}

    def visit(m, path):
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                problems.append("cycle: " + " -> ".join(path[path.index(n):] + [n]))
            elif not state.get(n):
                visit(n, path + [n])
        state[m] = 2

    for m in sorted(graph):
        if not state.get(m):
            visit(m, [m])

    # A check that saw nothing proves nothing.
    if len(uses) < 20 or len(edges) < 50:
        problems.append(f"only {len(uses)} modules and {len(edges)} references seen: "
                        "were the library's objects passed?")
    for p in problems:
        print("check_layers: " + p)
    if problems:
        return 1
    print(f"check_layers: {len(uses)} modules, {len(edges)} module references, all down")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
