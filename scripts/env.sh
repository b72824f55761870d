# Sourced by the scripts: environment for Debian's emscripten.
# Its tools are Node programs that need Debian's Node module folder.
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
# Debian keeps emscripten's library cache under /usr; a user who cannot
# write there gets a private one (filled on the first build, a few minutes).
if [ -z "${EM_CACHE:-}" ] && [ ! -w /usr/share/emscripten/cache ]; then
  export EM_CACHE="$HOME/.cache/iciia-emscripten"
fi
JOBS="${JOBS:-2}"
