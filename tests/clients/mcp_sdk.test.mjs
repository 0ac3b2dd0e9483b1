// `plughost serve --mcp` driven by the official MCP TypeScript SDK's client
// over its stdio transport, unmodified: initialize, tools/list, tools/call
// (results, failures, crashes, progress, cancellation), ping. The SDK checks
// every response against the specification's schemas (zod). A second part
// speaks to the server line by line, to pin what the SDK cannot choose:
// version negotiation, error codes, and every line parsed by the SDK's own
// schemas.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
    CallToolResultSchema,
    ErrorCode,
    InitializeResultSchema,
    JSONRPCMessageSchema,
    ListToolsResultSchema,
    McpError,
    ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

import { plughost, pluginDir, removeDir, exited, withTimeout } from './common.mjs';

const TOOLS = [
    'echo__echo',
    'greeter__greet',
    'greeter__slow',
    'notifier__crash',
    'notifier__notify',
    'textstats__calc',
    'textstats__stats',
];

function textOf(result) {
    assert.equal(result.content.length, 1, JSON.stringify(result));
    assert.equal(result.content[0].type, 'text');
    return result.content[0].text;
}

describe('the MCP SDK client', () => {
    let dir, transport, client, stderr = '';
    const errors = []; // whatever the SDK found wrong with the server

    before(async () => {
        dir = pluginDir();
        transport = new StdioClientTransport({
            command: plughost,
            args: ['serve', '--mcp', dir],
            env: process.env, // sanitizer and loader settings reach plughost
            stderr: 'pipe',
        });
        transport.stderr.on('data', (d) => (stderr += d));
        client = new Client({ name: 'plughost-client-test', version: '1.0.0' });
        client.onerror = (e) => errors.push(e);
        await withTimeout(client.connect(transport), 20000, 'initialize');
    });

    after(async () => {
        await client?.close();
        removeDir(dir);
        // The SDK runs notification handlers a microtask late but responses
        // at once, so a progress notification read in the same chunk as its
        // response finds its handler gone and is reported here
        // (modelcontextprotocol/typescript-sdk#2580). The server sends them
        // in order (checked line by line below); only that report is let by.
        const real = errors
            .map(String)
            .filter((e) => !/progress notification for an unknown token/.test(e));
        assert.deepEqual(real, [], `client errors; plughost stderr:\n${stderr}`);
    });

    test('initialize: server info, tools capability, instructions', () => {
        assert.deepEqual(client.getServerVersion(), { name: 'plughost', version: '0.1.0' });
        assert.ok(client.getServerCapabilities().tools, 'tools capability');
        assert.match(client.getInstructions(), /PLUGIN__METHOD/);
    });

    test('ping', async () => {
        assert.deepEqual(await client.ping(), {});
    });

    test('tools/list: every plugin method is a tool PLUGIN__METHOD', async () => {
        const { tools } = await client.listTools();
        assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
        for (const t of tools) {
            assert.match(t.name, /^[a-zA-Z0-9_-]{1,64}$/);
            assert.equal(t.inputSchema.type, 'object');
            assert.equal(t.title, t.name.replace('__', '.'));
        }
        // A method's own params schema, if the host passes it on, is the
        // tool's input schema.
        const notify = tools.find((t) => t.name === 'notifier__notify');
        if (notify.inputSchema.properties) {
            assert.deepEqual(notify.inputSchema.properties, { text: { type: 'string' } });
            assert.deepEqual(notify.inputSchema.required, ['text']);
        } else {
            assert.equal(notify.inputSchema.additionalProperties, true);
        }
        const calc = tools.find((t) => t.name === 'textstats__calc');
        assert.match(calc.description, /evaluates/);
        // Its parameter: from its schema if it declares one, else in words.
        if (calc.inputSchema.properties) assert.ok(calc.inputSchema.properties.expr);
        else assert.match(calc.description, /expr: string/);
    });

    test('tools/call echo__echo: arguments are the params by name', async () => {
        const args = { text: 'héllo 中 😀', n: [1, 2, null] };
        const r = await client.callTool({ name: 'echo__echo', arguments: args });
        assert.ok(!r.isError);
        assert.deepEqual(JSON.parse(textOf(r)), args);
        assert.deepEqual(r.structuredContent, args);
    });

    test('tools/call textstats__calc and textstats__stats', async () => {
        const r = await client.callTool({ name: 'textstats__calc', arguments: { expr: '2*(3+4)' } });
        assert.ok(!r.isError);
        assert.equal(JSON.parse(textOf(r)), 14);
        const s = await client.callTool({ name: 'textstats__stats', arguments: { text: 'b a b' } });
        assert.equal(s.structuredContent.words, 3);
        assert.deepEqual(s.structuredContent.top[0], { word: 'b', count: 2 });
    });

    test("a plugin's error is a result with isError, not a protocol error", async () => {
        const r = await client.callTool({ name: 'textstats__calc', arguments: { expr: '1/0' } });
        assert.equal(r.isError, true);
        assert.match(textOf(r), /textstats\.calc failed: division by zero/);
        const p = await client.callTool({ name: 'textstats__calc', arguments: {} });
        assert.equal(p.isError, true);
        assert.match(textOf(p), /-32602/);
    });

    test('a crashing plugin is a result with isError naming the signal', async () => {
        const r = await client.callTool({ name: 'notifier__crash', arguments: {} });
        assert.equal(r.isError, true);
        assert.match(textOf(r), /SIGSEGV/);
        // Restarted on the next call.
        const ok = await client.callTool({ name: 'notifier__notify', arguments: { text: 'x' } });
        assert.equal(ok.isError, false);
    });

    test('an unknown tool is a JSON-RPC error -32602', async () => {
        await assert.rejects(client.callTool({ name: 'nosuch__tool', arguments: {} }), (e) => {
            assert.ok(e instanceof McpError, String(e));
            assert.equal(e.code, ErrorCode.InvalidParams);
            return true;
        });
    });

    test('progress: greeter__slow reports notifications/progress', async () => {
        const seen = [];
        const r = await client.callTool({ name: 'greeter__slow', arguments: { n: 5 } }, undefined, {
            onprogress: (p) => seen.push(p.progress),
        });
        assert.equal(JSON.parse(textOf(r)), 5);
        // 1..5, less any that lost the SDK's race described in after().
        assert.ok(seen.length >= 1, 'no progress at all');
        assert.deepEqual(seen, [1, 2, 3, 4, 5].slice(0, seen.length));
    });

    test('cancellation: aborting a call sends notifications/cancelled', async () => {
        const abort = new AbortController();
        const t0 = Date.now();
        const call = client.callTool({ name: 'greeter__slow', arguments: { n: 1000 } }, undefined, {
            signal: abort.signal,
            onprogress: () => abort.abort('enough'),
        });
        await assert.rejects(call);
        // The server stops the plugin and sends no answer (an answer to a
        // cancelled id would reach client.onerror, checked in after()); the
        // session and the plugin go on serving.
        const r = await client.callTool({ name: 'greeter__slow', arguments: { n: 1 } });
        assert.equal(JSON.parse(textOf(r)), 1);
        assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    });

    test('many calls at once are each answered', async () => {
        const calls = [];
        for (let i = 0; i < 50; i++) {
            calls.push(client.callTool({ name: 'echo__echo', arguments: { i } }));
        }
        (await Promise.all(calls)).forEach((r, i) => assert.deepEqual(r.structuredContent, { i }));
    });
});

// A line-level client: what the server writes, checked by the SDK's schemas.
const raws = new Set(); // servers a failed test left running, killed in after()
class Raw {
    constructor(dir) {
        this.child = spawn(plughost, ['serve', '--mcp', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
        raws.add(this.child);
        this.child.once('exit', () => raws.delete(this.child));
        this.stderr = '';
        this.child.stderr.on('data', (d) => (this.stderr += d));
        this.lines = [];
        this.waiters = [];
        createInterface({ input: this.child.stdout }).on('line', (line) => {
            const msg = JSON.parse(line); // one JSON message a line, or this throws
            this.lines.push(msg);
            this.waiters.splice(0).forEach((w) => w());
        });
    }
    send(msg) {
        this.child.stdin.write(typeof msg === 'string' ? msg + '\n' : JSON.stringify(msg) + '\n');
    }
    async answer(id) {
        for (;;) {
            const m = this.lines.find((l) => l.id === id);
            if (m) {
                JSONRPCMessageSchema.parse(m);
                return m;
            }
            await withTimeout(new Promise((r) => this.waiters.push(r)), 20000, `answer ${id}`);
        }
    }
    async request(id, method, params) {
        this.send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
        return this.answer(id);
    }
    async close() {
        this.child.stdin.end();
        return exited(this.child);
    }
}

describe('the MCP wire, line by line', () => {
    let dir;
    before(() => (dir = pluginDir()));
    after(() => {
        for (const child of raws) child.kill('SIGKILL');
        removeDir(dir);
    });

    const init = (v) => ({
        protocolVersion: v,
        capabilities: {},
        clientInfo: { name: 'raw', version: '0' },
    });

    test('version negotiation: a supported version is answered as asked', async () => {
        for (const v of ['2025-06-18', '2025-03-26', '2024-11-05']) {
            const raw = new Raw(dir);
            const m = await raw.request(1, 'initialize', init(v));
            const r = InitializeResultSchema.parse(m.result);
            assert.equal(r.protocolVersion, v);
            assert.deepEqual(r.serverInfo, { name: 'plughost', version: '0.1.0' });
            assert.equal(typeof r.capabilities.tools.listChanged, 'boolean');
            assert.equal(await raw.close(), 0, raw.stderr);
        }
    });

    test('version negotiation: anything else is answered with the latest', async () => {
        const raw = new Raw(dir);
        for (const [id, v] of [[1, '2099-01-01'], [2, '2025-11-25'], [3, 'nonsense']]) {
            const m = await raw.request(id, 'initialize', init(v));
            assert.equal(InitializeResultSchema.parse(m.result).protocolVersion, '2025-06-18');
        }
        const bad = await raw.request(4, 'initialize', { capabilities: {} });
        assert.equal(bad.error.code, -32602);
        assert.equal(await raw.close(), 0, raw.stderr);
    });

    test('structured content only from 2025-06-18 on', async () => {
        for (const [v, structured] of [['2025-06-18', true], ['2025-03-26', false]]) {
            const raw = new Raw(dir);
            await raw.request(1, 'initialize', init(v));
            raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
            const m = await raw.request(2, 'tools/call', { name: 'echo__echo', arguments: { a: 1 } });
            const r = CallToolResultSchema.parse(m.result);
            assert.equal('structuredContent' in r, structured, v);
            assert.deepEqual(JSON.parse(r.content[0].text), { a: 1 });
            assert.equal(await raw.close(), 0, raw.stderr);
        }
    });

    test('errors: unknown method, unknown tool, bad arguments, parse error', async () => {
        const raw = new Raw(dir);
        await raw.request(1, 'initialize', init('2025-06-18'));
        raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        assert.equal((await raw.request(2, 'resources/list')).error.code, -32601);
        assert.equal((await raw.request(3, 'echo.echo', [1])).error.code, -32601);
        assert.equal((await raw.request(4, 'tools/call', { name: 'x' })).error.code, -32602);
        const args = await raw.request(5, 'tools/call', { name: 'echo__echo', arguments: [1] });
        assert.equal(args.error.code, -32602);
        assert.equal((await raw.request(6, 'tools/list', { cursor: 'x' })).error.code, -32602);
        const list = ListToolsResultSchema.parse((await raw.request(7, 'tools/list', {})).result);
        assert.equal(list.tools.length, TOOLS.length, raw.stderr);
        assert.equal(list.nextCursor, undefined);
        raw.send('{"jsonrpc":"2.0","id":8,');
        await withTimeout(
            (async () => {
                while (!raw.lines.some((l) => l.error?.code === -32700)) {
                    await new Promise((r) => raw.waiters.push(r));
                }
            })(),
            20000,
            'parse error',
        );
        // Unknown notifications and stray responses are ignored.
        raw.send({ jsonrpc: '2.0', method: 'notifications/whatever', params: {} });
        raw.send({ jsonrpc: '2.0', id: 99, result: {} });
        assert.deepEqual((await raw.request(9, 'ping')).result, {});
        assert.equal(raw.lines.length, 9, JSON.stringify(raw.lines));
        // The parse error has no id: MCP's schema allows no null one.
        const parse = raw.lines.find((l) => l.error?.code === -32700);
        assert.ok(!('id' in parse), JSON.stringify(parse));
        for (const l of raw.lines) JSONRPCMessageSchema.parse(l);
        assert.equal(await raw.close(), 0, raw.stderr);
    });

    test('progress: every notification precedes the answer, token echoed', async () => {
        const raw = new Raw(dir);
        await raw.request(1, 'initialize', init('2025-06-18'));
        raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        const params = { name: 'greeter__slow', arguments: { n: 5 }, _meta: { progressToken: 'p' } };
        await raw.request(2, 'tools/call', params);
        const tail = raw.lines.slice(1).map((l) => l.params?.progress ?? `answer ${l.id}`);
        assert.deepEqual(tail, [1, 2, 3, 4, 5, 'answer 2']);
        for (const l of raw.lines.slice(1, 6)) {
            assert.equal(l.params.progressToken, 'p');
            JSONRPCMessageSchema.parse(l);
        }
        // Without a token, no progress is sent.
        await raw.request(3, 'tools/call', { name: 'greeter__slow', arguments: { n: 3 } });
        assert.equal(raw.lines.length, 8);
        assert.equal(await raw.close(), 0, raw.stderr);
    });

    test("a plugin's own notification is not sent to an MCP client", async () => {
        const raw = new Raw(dir);
        await raw.request(1, 'initialize', init('2025-06-18'));
        raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        const r = await raw.request(2, 'tools/call', { name: 'greeter__greet', arguments: { name: 'Ada' } });
        assert.match(CallToolResultSchema.parse(r.result).content[0].text, /Hello, Ada/);
        assert.deepEqual((await raw.request(3, 'ping')).result, {});
        assert.deepEqual(raw.lines.map((l) => l.id), [1, 2, 3], JSON.stringify(raw.lines));
        assert.equal(await raw.close(), 0, raw.stderr);
    });

    test('a cancelled call gets no answer at all', async () => {
        const raw = new Raw(dir);
        await raw.request(1, 'initialize', init('2025-06-18'));
        raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        raw.send({
            jsonrpc: '2.0',
            id: 'slow',
            method: 'tools/call',
            params: { name: 'greeter__slow', arguments: { n: 1000 }, _meta: { progressToken: 7 } },
        });
        await withTimeout(
            (async () => {
                while (!raw.lines.some((l) => l.method === 'notifications/progress')) {
                    await new Promise((r) => raw.waiters.push(r));
                }
            })(),
            20000,
            'first progress',
        );
        const progress = raw.lines.find((l) => l.method === 'notifications/progress');
        JSONRPCMessageSchema.parse(progress);
        assert.deepEqual(progress.params, { progressToken: 7, progress: 1 });
        raw.send({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: 'slow', reason: 'test' },
        });
        assert.deepEqual((await raw.request(2, 'ping')).result, {});
        assert.equal(await raw.close(), 0, raw.stderr);
        assert.equal(raw.lines.filter((l) => l.id === 'slow').length, 0, JSON.stringify(raw.lines));
        for (const l of raw.lines) JSONRPCMessageSchema.parse(l);
    });

    test('a batch (2025-03-26) is answered with one array', async () => {
        const raw = new Raw(dir);
        await raw.request(1, 'initialize', init('2025-03-26'));
        raw.send([
            { jsonrpc: '2.0', id: 2, method: 'ping' },
            { jsonrpc: '2.0', method: 'notifications/initialized' },
            { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo__echo', arguments: { b: 2 } } },
        ]);
        await withTimeout(
            (async () => {
                while (!raw.lines.some(Array.isArray)) await new Promise((r) => raw.waiters.push(r));
            })(),
            20000,
            'batch answer',
        );
        const batch = raw.lines.find(Array.isArray);
        assert.deepEqual(batch.map((m) => m.id).sort(), [2, 3]);
        assert.equal(await raw.close(), 0, raw.stderr);
    });

    test('SIGHUP reload: notifications/tools/list_changed, then the new list', async () => {
        const own = pluginDir();
        rmSync(join(own, 'notifier.so'));
        const raw = new Raw(own);
        try {
            await raw.request(1, 'initialize', init('2025-06-18'));
            raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
            const names = async (id) =>
                ListToolsResultSchema.parse((await raw.request(id, 'tools/list')).result).tools.map(
                    (t) => t.name,
                );
            assert.ok(!(await names(2)).includes('notifier__notify'));
            copyFileSync(join(dir, 'notifier.so'), join(own, 'notifier.so'));
            raw.child.kill('SIGHUP');
            await withTimeout(
                (async () => {
                    while (!raw.lines.some((l) => l.method === 'notifications/tools/list_changed')) {
                        await new Promise((r) => raw.waiters.push(r));
                    }
                })(),
                20000,
                'list_changed',
            );
            assert.ok((await names(3)).includes('notifier__notify'));
            const r = await raw.request(4, 'tools/call', {
                name: 'notifier__notify',
                arguments: { text: 'new' },
            });
            assert.equal(CallToolResultSchema.parse(r.result).isError, false);
            assert.equal(await raw.close(), 0, raw.stderr);
        } finally {
            removeDir(own);
        }
    });

    test('--mcp with --framing=lsp is a usage error', async () => {
        const child = spawn(plughost, ['--mcp', '--framing=lsp', 'serve', dir], { stdio: 'ignore' });
        assert.equal(await exited(child), 2);
    });
});

// `plughost pin` and `serve --mcp --pins`, seen by the SDK client: a plugin
// whose surface no longer matches its pin is not listed and its call says
// what changed; renewing the pin and SIGHUP bring it back with
// tools/list_changed.
describe('pinned tools through the MCP SDK client', () => {
    test('a changed pin hides the tool; renewing it brings it back', async () => {
        const dir = pluginDir();
        const pins = join(dir, 'pins.json'); // only .so files are plugins
        let client;
        try {
            const pin = spawnSync(plughost, ['pin', dir, '--output', pins]);
            assert.equal(pin.status, 0, String(pin.stderr));
            // What the operator reviewed is not what echo says now.
            const doc = JSON.parse(readFileSync(pins, 'utf8'));
            doc.plugins['echo.so'].methods.echo.description = 'returns its params, reviewed';
            writeFileSync(pins, JSON.stringify(doc));
            const transport = new StdioClientTransport({
                command: plughost,
                args: ['--pins', pins, 'serve', '--mcp', dir],
                env: process.env,
                stderr: 'pipe',
            });
            let stderr = '';
            transport.stderr.on('data', (d) => (stderr += d));
            client = new Client({ name: 'plughost-pins-test', version: '1.0.0' });
            let changed = 0;
            client.setNotificationHandler(ToolListChangedNotificationSchema, () => changed++);
            await withTimeout(client.connect(transport), 20000, 'initialize');
            const names = async () => (await client.listTools()).tools.map((t) => t.name);
            let listed = await names();
            assert.ok(!listed.includes('echo__echo'), listed.join());
            assert.ok(listed.includes('textstats__calc'), listed.join());
            const refused = await client.callTool({ name: 'echo__echo', arguments: {} });
            assert.equal(refused.isError, true);
            assert.match(textOf(refused), /method echo: description changed/);
            assert.match(textOf(refused), /plughost pin/);
            assert.match(stderr, /echo \(echo\.so\) is not offered/);

            const renew = spawnSync(plughost, ['pin', join(dir, 'echo.so'), '--output', pins]);
            assert.equal(renew.status, 0, String(renew.stderr));
            process.kill(transport.pid, 'SIGHUP');
            await withTimeout(
                (async () => {
                    while (changed === 0) await new Promise((r) => setTimeout(r, 20));
                })(),
                20000,
                'tools/list_changed after renewing',
            );
            listed = await names();
            assert.ok(listed.includes('echo__echo'), listed.join());
            const ok = await client.callTool({ name: 'echo__echo', arguments: { a: 1 } });
            assert.equal(ok.isError, false, textOf(ok));
        } finally {
            await client?.close();
            removeDir(dir);
        }
    });
});
