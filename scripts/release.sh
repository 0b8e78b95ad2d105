#!/usr/bin/env bash
# `npm run release`: the production tarball, faceserver-<version>.tgz. It holds the compiled server (dist/), the
# console bundle (build/console), the migrations, assets, the addon's C++ sources and bin/setup, and the lock
# file as npm-shrinkwrap.json, so on the target `npm ci --omit=dev` installs exactly the tested dependencies
# and builds the addon (README, "Production install"). Needs a development checkout (bin/setup done).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
cp package-lock.json npm-shrinkwrap.json
trap 'rm -f npm-shrinkwrap.json' EXIT
file=$(npm pack --silent)
echo "$(pwd)/$file ($(du -h "$file" | cut -f1))"
