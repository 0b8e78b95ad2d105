#!/usr/bin/env bash
# Builds the addon with node-gyp from binding.gyp in a scratch folder and checks that it loads and exports
# exactly what the cmake-js build exports.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=build/gyp
rm -rf "$scratch" && mkdir -p "$scratch"
cp binding.gyp "$scratch/"
ln -s "$root/native" "$scratch/native"
ln -s "$root/scripts" "$scratch/scripts"
ln -s "$root/node_modules" "$scratch/node_modules"
# Node's own headers (no download): the folder that holds bin/node and include/node.
nodedir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
(cd "$scratch" && "$root/node_modules/.bin/node-gyp" rebuild --nodedir="$nodedir" -j "$(nproc)")
node -e '
const a = require(process.argv[1]), b = require(process.argv[2]);
const ka = Object.keys(a).sort().join(","), kb = Object.keys(b).sort().join(",");
if (ka !== kb) { console.error("exports differ:\n cmake-js: " + ka + "\n node-gyp: " + kb); process.exit(1); }
a.info(); b.info();
console.log("node-gyp build loads and exports the same " + Object.keys(a).length + " names");
' "$root/build/Release/faceserver.node" "$root/$scratch/build/Release/faceserver.node"
