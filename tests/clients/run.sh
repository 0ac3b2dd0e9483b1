#!/bin/sh
# Runs the client tests for ctest: `run.sh install` installs the pinned
# packages from package-lock.json when node_modules is missing; `run.sh test
# FILE` runs one test file with node's built-in runner. Exit 77 (ctest's
# skip) when node or npm is absent, so machines without them stay green.
set -u
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node and npm are needed for the client tests (apt-get install nodejs npm)"
    exit 77
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
    echo "SKIP: node $(node --version) is too old; the client tests need node 18 or later"
    exit 77
fi

case "${1:-}" in
install)
    if [ -d "$here/node_modules/vscode-jsonrpc" ] &&
        [ -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
        echo "node_modules present; not reinstalling"
        exit 0
    fi
    exec npm ci --prefix "$here" --no-audit --no-fund
    ;;
test)
    if [ ! -d "$here/node_modules/vscode-jsonrpc" ]; then
        echo "SKIP: $here/node_modules is missing (npm ci failed or was not run)"
        exit 77
    fi
    cd "$here" && exec node --test --test-reporter=spec "$2"
    ;;
*)
    echo "usage: run.sh install | run.sh test FILE" >&2
    exit 2
    ;;
esac
