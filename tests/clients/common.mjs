// Shared by the client tests: where plughost and the plugins are (ctest
// passes them in the environment), and a plugin directory holding exactly
// the plugins these tests use.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function need(name) {
    const v = process.env[name];
    if (!v) {
        throw new Error(`${name} is not set; run these tests through ctest (ctest -L clients)`);
    }
    return v;
}

export const plughost = need('PLUGHOST');
const examples = need('PLUGHOST_PLUGINS');
const notifier = need('PLUGHOST_NOTIFIER');

// echo, textstats and greeter are the bundled examples; notifier sends a
// notification of its own and crashes on request (tests/clients/plugins).
export function pluginDir() {
    const d = mkdtempSync(join(tmpdir(), 'plughost-clients-'));
    for (const name of ['echo', 'textstats', 'greeter']) {
        copyFileSync(join(examples, `${name}.so`), join(d, `${name}.so`));
    }
    copyFileSync(notifier, join(d, 'notifier.so'));
    return d;
}

export function removeDir(d) {
    rmSync(d, { recursive: true, force: true });
}

// Resolves with the child's exit code (or signal name), or rejects after ms.
export function exited(child, ms = 30000) {
    return new Promise((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) {
            resolve(child.exitCode ?? child.signalCode);
            return;
        }
        const t = setTimeout(() => reject(new Error(`plughost did not exit within ${ms} ms`)), ms);
        child.once('exit', (code, signal) => {
            clearTimeout(t);
            resolve(code ?? signal);
        });
    });
}

export function withTimeout(promise, ms, what) {
    let t;
    const timer = new Promise((_, reject) => {
        t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

