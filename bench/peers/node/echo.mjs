// vscode-jsonrpc echo: the second peer. Run plainly it is the host:
// it starts itself again as a child (node, stdio pipes, LSP framing, the
// VS Code extension host's kind of channel), sends ITERS+WARMUP "echo"
// requests one at a time with PARAMS (a JSON array) and prints
// "p50_ns p99_ns" of the round trips. With --child it is the child, which
// answers every "echo" with its params.
//
//   node echo.mjs PARAMS_JSON ITERS WARMUP
//
// PH_PEER_CHILD_CPU=N starts the child under `taskset -c N` (ph_bench's
// two-core placement); otherwise it inherits the host's CPUs.
import { spawn } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as rpc from 'vscode-jsonrpc/node';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const conn = rpc.createMessageConnection(
    new rpc.StreamMessageReader(process.stdin),
    new rpc.StreamMessageWriter(process.stdout));
  // Positional params arrive spread, followed by a cancellation token.
  conn.onRequest('echo', (...args) => args.slice(0, -1));
  conn.onClose(() => process.exit(0));
  conn.listen();
} else {
  const [paramsText, itersText, warmupText] = process.argv.slice(2);
  const params = JSON.parse(paramsText);
  const iters = Number(itersText), warmup = Number(warmupText);
  if (!Array.isArray(params) || !(iters > 0) || !(warmup >= 0)) {
    console.error('usage: node echo.mjs PARAMS_JSON ITERS WARMUP');
    process.exit(2);
  }
  const cpu = process.env.PH_PEER_CHILD_CPU;
  const argv = [process.execPath, self, '--child'];
  const child = cpu ? spawn('taskset', ['-c', cpu, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] })
                    : spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = rpc.createMessageConnection(
    new rpc.StreamMessageReader(child.stdout),
    new rpc.StreamMessageWriter(child.stdin));
  conn.listen();
  const ns = [];
  for (let i = 0; i < warmup + iters; i++) {
    const t0 = process.hrtime.bigint();
    // By position: the wire carries "params": [...], as plughost's echo
    // gets it.
    const out = await conn.sendRequest('echo', rpc.ParameterStructures.byPosition, ...params);
    const d = process.hrtime.bigint() - t0;
    if (!isDeepStrictEqual(out, params)) {
      console.error('echo differs:', JSON.stringify(out));
      process.exit(1);
    }
    if (i >= warmup) ns.push(d);
  }
  ns.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  console.log(`${ns[ns.length >> 1]} ${ns[Math.floor(ns.length * 99 / 100)]}`);
  conn.dispose();
  child.kill();
}
