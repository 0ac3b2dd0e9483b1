// `plughost serve --listen PATH` driven by vscode-jsonrpc over node's
// net.connect: several connections at once, each created with the library's
// own StreamMessageReader/Writer on the socket. vscode-jsonrpc numbers every
// connection's requests from 0, so the ids overlap by construction; each
// connection must still get exactly its own answers, progress and
// notifications, and a cancellation through a CancellationToken must work
// per connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
    createMessageConnection,
    StreamMessageReader,
    StreamMessageWriter,
    CancellationTokenSource,
    ResponseError,
} from 'vscode-jsonrpc/node';

import { plughost, pluginDir, removeDir, exited, withTimeout } from './common.mjs';

const REQUEST_CANCELLED = -32800;

let dir, sockDir, sockPath, child, stderr = '';
const clients = [];

function waitFor(text, ms = 10000) {
    return withTimeout(
        new Promise((resolve) => {
            const check = () => (stderr.includes(text) ? resolve() : setTimeout(check, 20));
            check();
        }),
        ms,
        `stderr to say "${text}"`,
    );
}

function open() {
    return new Promise((resolve, reject) => {
        const sock = connect(sockPath, () => {
            const conn = createMessageConnection(
                new StreamMessageReader(sock),
                new StreamMessageWriter(sock),
            );
            const c = { sock, conn, progress: [], said: [] };
            conn.onNotification('$/progress', (p) => c.progress.push(p));
            conn.onNotification('notifier.said', (p) => c.said.push(p));
            conn.listen();
            clients.push(c);
            resolve(c);
        });
        sock.once('error', reject);
    });
}

before(async () => {
    dir = pluginDir();
    sockDir = mkdtempSync(join(tmpdir(), 'plughost-listen-'));
    sockPath = join(sockDir, 'plughost.sock');
    child = spawn(plughost, ['serve', '--listen', sockPath, dir], {
        stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (d) => (stderr += d));
    await waitFor('listening on');
});

after(async () => {
    for (const c of clients) {
        c.conn.dispose();
        c.sock.destroy();
    }
    if (child.exitCode === null) child.kill('SIGKILL');
    removeDir(dir);
    rmSync(sockDir, { recursive: true, force: true });
});

test('three connections with overlapping ids each get only their own answers', async () => {
    const cs = [await open(), await open(), await open()];
    const calls = [];
    for (let i = 0; i < 30; i++) {
        cs.forEach((c, k) => calls.push(
            c.conn.sendRequest('echo.echo', { conn: k, i }).then((r) => [k, i, r]),
        ));
    }
    const results = await withTimeout(Promise.all(calls), 20000, '90 answers');
    for (const [k, i, r] of results) {
        assert.deepEqual(r, { conn: k, i });
    }
});

test('progress and plugin notifications reach only the calling connection', async () => {
    const [a, b] = [await open(), await open()];
    const slow = a.conn.sendRequest('greeter.slow', { n: 30 });
    const quick = await b.conn.sendRequest('echo.echo', 'b');
    assert.deepEqual(quick, ['b']);
    assert.equal(await withTimeout(slow, 20000, 'greeter.slow'), 30);
    assert.ok(a.progress.length >= 10, `a saw ${a.progress.length} progress notifications`);
    assert.equal(b.progress.length, 0);
    await b.conn.sendRequest('notifier.notify', { text: 'for b only' });
    // Notifications are written before the answer on the same connection.
    assert.deepEqual(b.said.map((p) => p.text), ['for b only']);
    await a.conn.sendRequest('echo.echo', []);
    assert.equal(a.said.length, 0);
});

test('a CancellationToken cancels a call of one connection, not the others', async () => {
    const [a, b] = [await open(), await open()];
    const src = new CancellationTokenSource();
    const long = a.conn.sendRequest('greeter.slow', { n: 1000 }, src.token);
    const other = b.conn.sendRequest('echo.echo', 'unaffected');
    await withTimeout(new Promise((r) => setTimeout(r, 150)), 1000, 'pause');
    src.cancel();
    await assert.rejects(withTimeout(long, 10000, 'cancelled call'), (e) => {
        assert.ok(e instanceof ResponseError);
        assert.equal(e.code, REQUEST_CANCELLED);
        return true;
    });
    assert.deepEqual(await other, ['unaffected']);
});

test('SIGTERM: exit 0 and the socket is removed', async () => {
    child.kill('SIGTERM');
    assert.equal(await exited(child, 30000), 0);
    assert.equal(existsSync(sockPath), false);
});
