#!/usr/bin/env python3
"""A method's error data reaches the caller unchanged, through `call` and
`serve`: an object using the keys of the host's own reports, an array, a
string, numbers, null, and no data at all; only the code tells a host's
report apart (a plugin's reserved code becomes -32603 with original_code,
and `call` exits 1 whatever its data says). Params: a hint that parses as
JSON is only a hint; a schema in params_schemas is enforced; one the host
cannot use fails the load and `list` exits 3; an ABI-1 plugin keeps the
old reading of params_doc."""

import json
import os
import sys

import harness

ap = harness.argparse.ArgumentParser(description=__doc__)
ap.add_argument("--plughost", required=True)
ap.add_argument("--errdata", required=True)
ap.add_argument("--badschema", required=True)
ap.add_argument("--abi1", required=True)
args, _ = ap.parse_known_args()
c = harness.Checker("test_error_data")
ph = args.plughost

OBJECT = {"status": "violation", "limit": "max_message", "syscall": "reboot",
          "signal": "SIGKILL", "arch": "x86_64", "plugin": "other", "method": "other_method",
          "n": 1}
# kind -> (code, data or the marker NONE, original_code)
NONE = object()
KINDS = {
    "object": (42, OBJECT, None),
    "array": (42, [1, "two", {"three": 3}, None], None),
    "string": (42, "just text", None),
    "number": (42, 19, None),
    "real": (42, 2.5, None),
    "null": (42, None, None),
    "none": (42, NONE, None),
    "reserved": (-32603, {"status": "timeout", "limit": "call_timeout_ms"}, -32001),
}


def same(error, kind):
    """Why error is not what the method gave for kind, or None."""
    code, data, original = KINDS[kind]
    if not isinstance(error, dict):
        return "no error object"
    if error.get("code") != code or error.get("original_code") != original:
        return "code %r / original_code %r" % (error.get("code"), error.get("original_code"))
    if data is NONE:
        return None if "data" not in error else "data present: %r" % (error.get("data"),)
    if "data" not in error or error["data"] != data or type(error["data"]) is not type(data):
        return "data %r, want %r" % (error.get("data"), data)
    return None


d = harness.plugin_dir(args.errdata)
try:
    for kind in KINDS:
        r = harness.run(ph, ["call", d, "errdata.fail", json.dumps([kind])])
        why = same(r.last_error(), kind)
        c.check(r.rc == 1 and why is None, f"call: {kind} data comes back as the method gave it",
                f"{why}\n{r.describe()}")

    s = harness.Session(ph, d)
    try:
        for i, kind in enumerate(KINDS):
            resp = s.call({"jsonrpc": "2.0", "id": i, "method": "errdata.fail",
                           "params": {"kind": kind}})
            why = same((resp or {}).get("error"), kind)
            c.check(resp is not None and resp.get("id") == i and why is None,
                    f"serve: {kind} data comes back as the method gave it", f"{why} {resp}")
        # The same in one batch (the parsing path for every member).
        batch = [{"jsonrpc": "2.0", "id": 100 + i, "method": "errdata.fail", "params": [k]}
                 for i, k in enumerate(KINDS)]
        s.send(batch)
        got = s.recv()
        by_id = {m.get("id"): m for m in got} if isinstance(got, list) else {}
        bad = [k for i, k in enumerate(KINDS) if same(by_id.get(100 + i, {}).get("error"), k)]
        c.check(not bad, "serve batch: every kind's data unchanged", f"{bad} {got}")
    finally:
        s.close()

    # A hint that parses as JSON is a hint: the plugin loads, list shows it.
    r = harness.run(ph, ["list", d])
    c.check(r.rc == 0 and b'errdata.hinted {"items": "array of anything"}' in r.out,
            "a params hint that parses as JSON loads and is shown as written", r.describe())
    r = harness.run(ph, ["list", "--json", d])
    try:
        ms = {m["name"]: m for m in json.loads(r.out)["plugins"][0]["methods"]}
    except (ValueError, KeyError, IndexError) as e:
        ms = {}
    c.check(r.rc == 0 and ms.get("hinted", {}).get("params") == '{"items": "array of anything"}'
            and "params_schema" not in ms.get("hinted", {})
            and ms.get("checked", {}).get("params_schema", {}).get("required") == ["n"],
            "list --json: the hint as params, the schema as params_schema", r.describe())
    r = harness.run(ph, ["call", d, "errdata.hinted", '{"items": 1}'])
    c.check(r.rc == 0 and json.loads(r.out or b"null") == {"items": 1},
            "a hinted method takes any params", r.describe())
    # The schema in params_schemas is enforced by the host.
    r = harness.run(ph, ["call", d, "errdata.checked", '{"n": "x"}'])
    e = r.last_error() or {}
    c.check(r.rc == 1 and e.get("code") == -32602, "params_schemas: bad params are -32602",
            r.describe())
    r = harness.run(ph, ["call", d, "errdata.checked", '{"n": 3}'])
    c.check(r.rc == 0 and json.loads(r.out or b"null") == {"n": 3},
            "params_schemas: good params reach the method", r.describe())
finally:
    harness.remove_dir(d)

# A schema the host cannot use fails the load; list names it and exits 3.
d = harness.plugin_dir(args.errdata, args.badschema)
try:
    r = harness.run(ph, ["list", d])
    c.check(r.rc == 3 and b"not loaded: " in r.out and b"badschema.so" in r.out
            and b"errdata.fail" in r.out,
            "an invalid params schema fails its plugin's load; list exits 3", r.describe())
finally:
    harness.remove_dir(d)

# A plugin built against ABI 1: its JSON-object params_doc is still its schema.
d = harness.plugin_dir(args.abi1)
try:
    r = harness.run(ph, ["call", d, "abione.checked", '{"n": "x"}'])
    e = r.last_error() or {}
    c.check(r.rc == 1 and e.get("code") == -32602,
            "ABI 1: a params_doc that parses as an object is still the schema", r.describe())
    r = harness.run(ph, ["call", d, "abione.checked", '{"n": 3}'])
    c.check(r.rc == 0, "ABI 1: good params reach the method", r.describe())
finally:
    harness.remove_dir(d)

sys.exit(c.finish())
