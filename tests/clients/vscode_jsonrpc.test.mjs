// `plughost serve --framing=lsp` driven, unmodified, by vscode-jsonrpc, the
// JSON-RPC library behind VS Code: requests by position and by name,
// notifications, errors, cancellation, progress, and a plugin's own
// notification reaching the client. Every frame the server writes is also
// decoded here independently, to prove nothing unexpected was sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
    createMessageConnection,
    StreamMessageReader,
    StreamMessageWriter,
    CancellationTokenSource,
    ResponseError,
    ErrorCodes,
} from 'vscode-jsonrpc/node';

import { plughost, pluginDir, removeDir, exited, withTimeout } from './common.mjs';

const REQUEST_CANCELLED = -32800; // LSP's RequestCancelled

let dir, child, conn, stderr = '';
const seen = []; // every message the server wrote, decoded here
const progress = []; // $/progress params, in arrival order
const said = []; // notifier.said params

// A strict Content-Length decoder, separate from vscode-jsonrpc's.
function tap(stream) {
    let buf = Buffer.alloc(0);
    stream.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const m = /^Content-Length: (\d+)$/.exec(buf.subarray(0, end).toString('ascii'));
            if (!m) throw new Error(`bad header: ${buf.subarray(0, end)}`);
            const n = Number(m[1]);
            if (buf.length < end + 4 + n) return;
            seen.push(JSON.parse(buf.subarray(end + 4, end + 4 + n).toString('utf8')));
            buf = buf.subarray(end + 4 + n);
        }
    });
}

before(() => {
    dir = pluginDir();
    child = spawn(plughost, ['--framing=lsp', 'serve', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.on('data', (d) => (stderr += d));
    tap(child.stdout);
    conn = createMessageConnection(
        new StreamMessageReader(child.stdout),
        new StreamMessageWriter(child.stdin),
    );
    conn.onNotification('$/progress', (p) => progress.push(p));
    conn.onNotification('notifier.said', (p) => said.push(p));
    conn.listen();
});

after(async () => {
    conn?.dispose();
    child?.stdin.end();
    const code = child ? await exited(child).catch((e) => e) : 0;
    removeDir(dir);
    assert.equal(code, 0, `plughost serve exit status; stderr:\n${stderr}`);
});

test('echo.echo with params by position', async () => {
    // Two arguments: vscode-jsonrpc sends them as a params array.
    const r = await conn.sendRequest('echo.echo', 'hello', 2);
    assert.deepEqual(r, ['hello', 2]);
});

test('echo.echo with params by name', async () => {
    const params = { text: 'héllo 中 😀', n: 3, nested: { a: [1, null, true] } };
    assert.deepEqual(await conn.sendRequest('echo.echo', params), params);
});

test('textstats.calc computes', async () => {
    assert.equal(await conn.sendRequest('textstats.calc', { expr: '2 * (3 + 4) - 1' }), 13);
});

test('textstats.stats counts', async () => {
    const r = await conn.sendRequest('textstats.stats', { text: 'a b a\nc' });
    assert.equal(r.words, 4);
    assert.equal(r.lines, 2);
    assert.deepEqual(r.top[0], { word: 'a', count: 2 });
});

test('unknown methods reject with ResponseError -32601', async () => {
    for (const method of ['nosuch.method', 'echo.nosuch', 'nodot']) {
        await assert.rejects(conn.sendRequest(method, { x: 1 }), (e) => {
            assert.ok(e instanceof ResponseError, `${method}: ${e}`);
            assert.equal(e.code, ErrorCodes.MethodNotFound, method);
            return true;
        });
    }
});

test('bad params reject with ResponseError -32602 from the plugin', async () => {
    await assert.rejects(conn.sendRequest('textstats.calc', { wrong: 1 }), (e) => {
        assert.ok(e instanceof ResponseError, String(e));
        assert.equal(e.code, ErrorCodes.InvalidParams);
        assert.equal(e.data.plugin, 'textstats');
        assert.equal(e.data.method, 'calc');
        return true;
    });
});

test("a plugin's own error keeps its code, message and data", async () => {
    await assert.rejects(conn.sendRequest('textstats.calc', { expr: '1/0' }), (e) => {
        assert.ok(e instanceof ResponseError, String(e));
        assert.equal(e.code, 1);
        assert.match(e.message, /division by zero/);
        return true;
    });
});

test('a crashed plugin rejects with -32000 and the signal', async () => {
    await assert.rejects(conn.sendRequest('notifier.crash', {}), (e) => {
        assert.ok(e instanceof ResponseError, String(e));
        assert.equal(e.code, -32000);
        assert.equal(e.data.status, 'signaled');
        assert.equal(e.data.signal, 'SIGSEGV');
        return true;
    });
    // Restarted on the next call.
    await conn.sendRequest('notifier.notify', { text: 'back' });
});

test('a notification to the server gets no response', async () => {
    const before = seen.length;
    await conn.sendNotification('echo.echo', { quiet: true });
    await conn.sendNotification('nosuch.method', { quiet: true });
    // A request after them is answered, and is the only thing answered.
    assert.deepEqual(await conn.sendRequest('echo.echo', 'after'), ['after']);
    const since = seen.slice(before);
    assert.equal(since.length, 1, JSON.stringify(since));
    assert.deepEqual(since[0].result, ['after']);
});

test('progress: greeter.slow reports $/progress {token: id, value: n}', async () => {
    progress.length = 0;
    assert.equal(await conn.sendRequest('greeter.slow', { n: 5 }), 5);
    assert.deepEqual(progress.map((p) => p.value), [1, 2, 3, 4, 5]);
    // The token is the request's own id, as the raw response shows.
    const answer = seen.findLast((m) => m.result === 5 && 'id' in m);
    for (const p of progress) assert.equal(p.token, answer.id);
});

test('cancellation: a CancellationToken ends greeter.slow with RequestCancelled', async () => {
    progress.length = 0;
    const source = new CancellationTokenSource();
    const started = new Promise((resolve) => {
        const d = conn.onNotification('$/progress', () => {
            d.dispose();
            resolve();
        });
    });
    const call = conn.sendRequest('greeter.slow', { n: 1000 }, source.token);
    await withTimeout(started, 20000, 'first progress of greeter.slow');
    const t0 = Date.now();
    source.cancel();
    await assert.rejects(call, (e) => {
        assert.ok(e instanceof ResponseError, String(e));
        assert.equal(e.code, REQUEST_CANCELLED);
        return true;
    });
    // Long before the 10 s the call would take.
    assert.ok(Date.now() - t0 < 5000, `cancel took ${Date.now() - t0} ms`);
    assert.ok(progress.length < 500, `${progress.length} progress notifications`);
    // The connection and the plugin keep serving.
    assert.equal(await conn.sendRequest('greeter.slow', { n: 1 }), 1);
});

test("a plugin's own notification reaches the client as PLUGIN.NAME", async () => {
    said.length = 0;
    assert.equal(await conn.sendRequest('notifier.notify', { text: 'hi there' }), true);
    // Sent before the answer on the same stream, so handled before it.
    await withTimeout(
        new Promise((resolve) => {
            const poll = () => (said.some((p) => p.text === 'hi there') ? resolve() : setTimeout(poll, 10));
            poll();
        }),
        5000,
        'notifier.said',
    );
    assert.deepEqual(said.at(-1), { text: 'hi there' });
});

test("an example plugin's notification: greeter.greet sends greeter.greeted", async () => {
    const got = new Promise((resolve) => {
        const d = conn.onNotification('greeter.greeted', (p) => {
            d.dispose();
            resolve(p);
        });
    });
    const r = await conn.sendRequest('greeter.greet', { name: 'Ada' });
    const p = await withTimeout(got, 5000, 'greeter.greeted');
    assert.equal(p.name, 'Ada');
    assert.equal(p.visits, r.visits);
});

test('many requests in flight at once are each answered', async () => {
    const calls = [];
    for (let i = 0; i < 200; i++) calls.push(conn.sendRequest('echo.echo', { i }));
    const answers = await Promise.all(calls);
    answers.forEach((a, i) => assert.deepEqual(a, { i }));
});
