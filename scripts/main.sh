#!/usr/bin/env bash
# The main job: builds, then streams feature vectors through ICIIA in Node
# on the wasm build (examples/node). The demo page will take over here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
node examples/node/stream_features.mjs "$@"
