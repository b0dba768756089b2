/** A compiled kernel (a WebAssembly.Module: structured-cloneable, so it is compiled once and handed to every worker thread). */
export type KernelModule = object;

/** The WebAssembly API as used here (the project's @types/node predates its global declarations). */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => KernelModule;
  Instance: new (module: KernelModule, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
