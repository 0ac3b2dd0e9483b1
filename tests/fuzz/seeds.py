#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/ (run once; the files are
committed). Each target's input layout is described at the top of its .c
file. A handful of seeds come from JSONTestSuite's test_parsing (MIT), read
from the directory given as the first argument."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/json-test-suite/test_parsing"
SUITE_PICKS = ["y_structure_lonely_int.json", "y_object_escaped_null_in_key.json",
               "y_string_three-byte-utf-8.json", "y_number_real_neg_exp.json",
               "y_string_unicode_U+10FFFE_nonchar.json", "n_object_two_commas_in_a_row.json",
               "n_structure_unclosed_object.json", "n_string_invalid-utf-8-in-escape.json",
               "n_structure_lone-invalid-utf-8.json", "i_number_very_big_negative_int.json",
               "i_string_invalid_lonely_surrogate.json", "n_string_unescaped_ctrl_char.json"]


def rpc(method, params=None, id_=None, notify=False):
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    if not notify:
        m["id"] = id_
    return json.dumps(m, separators=(",", ":")).encode()


def lsp(body, extra=b""):
    return b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n" + body


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def suite():
    out = []
    for name in SUITE_PICKS:
        with open(os.path.join(SUITE, name), "rb") as f:
            out.append((name.rsplit(".", 1)[0], f.read()))
    return out


def serve_seeds():
    # byte 0: framing (0 auto, 1 line, 2 lsp; +4 ends with a graceful stop);
    # byte 1: piece size - 1.
    req = rpc("echo.echo", [1, "x"], 1)
    lines = {
        "request": req + b"\n",
        "notification": rpc("echo.echo", [1], notify=True) + b"\n",
        "batch": b"[" + req + b"," + rpc("a.b", {"k": None}, "s") + b",1,{}]\n",
        "empty_batch": b"[]\n",
        "cancel": rpc("$/cancelRequest", {"id": 1}, notify=True) + b"\n",
        "bad_json": b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]\n',
        "crlf_blank": b"\r\n  \n" + req + b"\r\n",
        "no_newline_at_eof": req,
        "rpc_reserved": rpc("rpc.discover", None, 7) + b"\n",
        "ids": b"".join(rpc("p.m", [], i) + b"\n" for i in ["", 0, -1, 2 ** 53, None]),
        "long_line": b'{"jsonrpc":"2.0","id":1,"method":"x.y","params":["' + b"a" * 5000 + b'"]}\n'
                     + req + b"\n",
    }
    for name, body in lines.items():
        write("fuzz_serve", "line_" + name, bytes([1, 255]) + body)
    write("fuzz_serve", "auto_line_split", bytes([0, 6]) + lines["batch"])
    frames = {
        "request": lsp(req),
        "two_frames": lsp(req) + lsp(rpc("x.y", None, "z")),
        "content_type": lsp(req, b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"),
        "bad_charset": lsp(req, b"Content-Type: text/plain; charset=latin1\r\n") + lsp(req),
        "no_length": b"Content-Type: a\r\n\r\n{}" + lsp(req),
        "bad_length": b"Content-Length: 1x\r\n\r\n{}" + lsp(req),
        "dup_length": b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        "bare_lf": b"Content-Length: 2\n\n{}" + lsp(req),
        "oversized": b"Content-Length: 99999\r\n\r\n" + b"x" * 100 + lsp(req),
        "truncated": b"Content-Length: 50\r\n\r\n{\"jsonrpc\"",
        "empty_body": b"Content-Length: 0\r\n\r\n",
        "batch": lsp(b"[" + req + b",2]"),
        "lowercase": lsp(req).replace(b"Content-Length", b"content-length"),
    }
    for name, body in frames.items():
        write("fuzz_serve", "lsp_" + name, bytes([2, 255]) + body)
    write("fuzz_serve", "auto_lsp_split", bytes([0, 2]) + frames["two_frames"])
    write("fuzz_serve", "lsp_stop", bytes([6, 9]) + frames["two_frames"] + b"Content-Len")
    write("fuzz_serve", "line_stop", bytes([5, 255]) + req + b"\n" + req[:10])
    for name, body in suite()[:6]:
        write("fuzz_serve", "suite_" + name, bytes([1, 255]) + body + b"\n")


def records(*recs, maxsel=0x80):
    out = bytes([maxsel])
    for r in recs:
        assert len(r) < 255
        out += bytes([len(r)]) + r
    return out


def wire_seeds():
    hello = rpc("ph.hello", {"protocol": 1, "sdk_abi": 1, "name": "echo", "version": "1.0.0",
                             "methods": [{"name": "echo", "params": "[any...]"}]}, notify=True)
    msgs = {
        "request": rpc("echo", [1], 17),
        "result": b'{"jsonrpc":"2.0","id":17,"result":[1]}',
        "error": b'{"jsonrpc":"2.0","id":17,"error":{"code":-32602,"message":"m","data":1}}',
        "log": rpc("$/log", {"level": "info", "message": "hi"}, notify=True),
        "progress": rpc("$/progress", {"id": 3, "value": 0.5}, notify=True),
        "hostcall": rpc("host.kv_set", ["k", {"a": [1, 2]}], "x"),
        "dup_keys": b'{"jsonrpc":"2.0","id":1,"id":2,"result":0}',
    }
    for name, m in msgs.items():
        write("fuzz_wire", "one_" + name, records(b"\x00" + m))
    # A message in MORE records, then another in one LAST record.
    m = msgs["request"]
    write("fuzz_wire", "split", records(b"\x01" + m[:5], b"\x01" + m[5:20], b"\x00" + m[20:],
                                         b"\x00" + msgs["result"]))
    write("fuzz_wire", "hello_split", records(*[b"\x01" + hello[i:i + 40]
                                                for i in range(0, len(hello) - 40, 40)],
                                              b"\x00" + hello[(len(hello) - 1) // 40 * 40:]))
    write("fuzz_wire", "bad_flag", records(b"\x02abc", b"\x00" + msgs["result"]))
    write("fuzz_wire", "empty_more", records(b"\x01", b"\x00{}"))
    write("fuzz_wire", "empty_record", bytes([0x80, 0]) + records(b"\x00[]")[1:])
    write("fuzz_wire", "over_limit", records(b"\x01" + b"a" * 200, b"\x00" + b"b" * 200,
                                             maxsel=3))
    write("fuzz_wire", "long_record", bytes([0x80, 255, 0x80, 0x01, 0]) + b"x" * 300)
    for name, body in suite()[:6]:
        if len(body) < 250:
            write("fuzz_wire", "suite_" + name, records(b"\x00" + body))


def hello_seeds():
    base = {"protocol": 1, "sdk_abi": 1, "name": "greeter", "version": "1.0.0",
            "description": "d", "methods": [{"name": "greet", "description": "g",
                                             "params": "{name: string}"},
                                            {"name": "slow"}]}
    write("fuzz_hello", "hello", rpc("ph.hello", base, notify=True))
    write("fuzz_hello", "hello_no_methods",
          rpc("ph.hello", dict(base, methods=[]), notify=True))
    write("fuzz_hello", "hello_bad_name",
          rpc("ph.hello", dict(base, name="Bad.Name"), notify=True))
    write("fuzz_hello", "hello_as_request", rpc("ph.hello", base, 1))
    write("fuzz_hello", "sandbox", rpc("ph.sandbox", {"layers": {
        "seccomp": "notify", "landlock_abi": 6, "no_new_privs": True}}, notify=True))
    write("fuzz_hello", "setup_failed", rpc("ph.setup_failed", {
        "stage": "dlopen", "message": "x.so: cannot open"}, notify=True))
    write("fuzz_hello", "unicode", rpc("ph.hello", dict(base, name="\u00e9\u4e2d"),
                                       notify=True))
    for name, body in suite():
        write("fuzz_hello", "suite_" + name, body)


if __name__ == "__main__":
    serve_seeds()
    wire_seeds()
    hello_seeds()
