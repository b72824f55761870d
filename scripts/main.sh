#!/usr/bin/env bash
# The main job: installs and builds whatever is missing, then serves the demo
# on 127.0.0.1 and prints its URL (Ctrl-C stops it).
#
#   ./scripts/main.sh [--port N]
#   ./scripts/main.sh --headless [options of examples/node/stream.mjs]
#
# --headless runs the headless example instead: a client stream of the
# bundle's sample images through the package in Node, printing the backbone's
# and the adapted predictions and both running accuracies.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# The bundle is committed; rebuild it (seeded, about 20 minutes) only if it was removed.
[ -f models/fashion-mnist/manifest.json ] || models/fashion-mnist/reproduce.sh
if [ "${1:-}" = --headless ]; then
  shift
  exec node examples/node/stream.mjs "$@"
fi
exec node scripts/serve_demo.mjs "$@"
