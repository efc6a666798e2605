// Types of host/fuel-instrument.mjs (plain JavaScript so that it can run in a
// worker thread without the tsx loader).
export declare const FUEL_EXPORT: 'qx_fuel';
export declare const GLOBAL_EXPORT_PREFIX: 'qx_g';
export declare const START_FUEL: number;
export declare class Refusal extends Error {}
export declare function instrument(binaryen: unknown, bytes: Uint8Array, fuel: boolean): Uint8Array;
