// Type of the Emscripten glue iciia_core.mt.node.mjs (the threads build, wasm/CMakeLists.txt; scripts/build.sh copies it beside this file).
declare const createIciiaCore: (options: Record<string, unknown>) => Promise<unknown>;
export default createIciiaCore;
