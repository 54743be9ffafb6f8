// The part of the WebAssembly JS API logforest uses. @types/node 20 does not
// declare the global (Node 20 has it); this keeps tsc honest without the DOM lib.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class Instance {
    readonly exports: Record<string, unknown>;
  }
  type Imports = Record<string, Record<string, unknown>>;
}
