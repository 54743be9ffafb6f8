// The package's types entry. The public API takes and returns Node types (streams,
// Buffers), so it pulls in @types/node (a dependency) itself: a consumer's tsc then
// type-checks with no `types` setting, including TypeScript 7, whose default is none.
/// <reference types="node" />
export * from "../dist/src/index.js";
