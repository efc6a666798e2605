// host/base/compiled.ts: compiled WebAssembly modules, one per module bytes.
//
// A WebAssembly.Module is immutable and can be instantiated any number of
// times; compiling it is what costs (and V8 optimises a module's hot
// functions once per compiled module, so a fresh compile starts over from
// its baseline code). A process that boots many machines from one image (the
// simulator, tests, `qenex replay` after a live run) compiles each module
// once. Keys are the byte arrays' identities: images and prepared modules
// are parsed once and never changed in place.

const compiled = new WeakMap<Uint8Array, WebAssembly.Module>();

/** The compiled module for `key`; `bytes` makes the module bytes on the first call (default: `key` itself). */
export function compiledModule(key: Uint8Array, bytes: (key: Uint8Array) => Uint8Array = (k) => k): WebAssembly.Module {
  let m = compiled.get(key);
  if (m === undefined) {
    m = new WebAssembly.Module(bytes(key) as Uint8Array<ArrayBuffer>);
    compiled.set(key, m);
  }
  return m;
}
