#!/usr/bin/env bash
# Runs the jest suite on another Node major: installs that version of the registry's `node` package into a
# scratch folder and puts it first on PATH, so jest, its workers and every `node` a test starts by name or
# by process.execPath run on it. jest is called directly: `npm test` would put node_modules/.bin (the
# project's own Node 22) first again. Types do not depend on the runtime, so tsc is not run twice.
# Usage: scripts/test-on-node.sh <version> [jest args...]
set -euo pipefail
version="${1:?usage: scripts/test-on-node.sh <node version> [jest args...]}"
shift
cd "$(dirname "$0")/.."

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# A project of its own, so the install script approval (allowScripts) and the pinned version live in a
# package.json, as in the main project, and nothing here touches the main project's node_modules.
cat > "$scratch/package.json" <<JSON
{ "private": true, "devDependencies": { "node": "$version" }, "allowScripts": { "node": true } }
JSON
npm install --prefix "$scratch" --no-audit --no-fund --no-package-lock --loglevel=error

export PATH="$scratch/node_modules/.bin:$PATH"
actual="$(node --version)"
if [ "$actual" != "v$version" ]; then
  echo "test-on-node: expected node v$version first on PATH, found $actual" >&2
  exit 1
fi
echo "test-on-node: running the suite on node $actual"
node_modules/.bin/jest "$@"
