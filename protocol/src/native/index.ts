// The optional native backend (protocol/native: blst for BLS12-381, sha3 for Keccak, as a Node-API
// addon built from crates.io by protocol/native/build.sh). Measured ~5x faster than mcl-wasm for
// pairings and ~10x for hash-to-G1 (`npm run bench -- crypto`). Absent or disabled (DESTRA_NATIVE=0), the
// callers use mcl-wasm / noble, which produce the same bytes (protocol/test/native.test.ts).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface NativeBackend {
  hashToG1(msg: Uint8Array, dst: Uint8Array): Uint8Array;
  sign(scalar: Uint8Array, msg: Uint8Array, dst: Uint8Array): Uint8Array;
  verify(pk: Uint8Array, msg: Uint8Array, dst: Uint8Array, sig: Uint8Array): boolean;
  verifySameMessage(pks: Uint8Array[], sigs: Uint8Array[], msg: Uint8Array, dst: Uint8Array, rands: Uint8Array): boolean;
  verifyMultiple(pks: Uint8Array[], sigs: Uint8Array[], msgs: Uint8Array[], dst: Uint8Array, rands: Uint8Array): boolean;
  /** Compressed G1 → affine x ‖ y (96 bytes), or null when not a usable subgroup point. */
  g1Uncompress(bytes: Uint8Array): Uint8Array | null;
  g1LinearCombination(points: Uint8Array[], scalars: Uint8Array[]): Uint8Array | null;
  keccakMany(data: Uint8Array, len: number, prefix: Uint8Array): Uint8Array;
  merkleLevel(level: Uint8Array): Uint8Array;
  /** Messages the batch Keccak hashes per step (8 with AVX-512, else 1). */
  keccakWidth(): number;
}

export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../native/destra_native.node', import.meta.url));

let loaded: NativeBackend | null | undefined;
let loadError: string | undefined;

/** The native backend, or null when it is disabled, not built, or fails to load (see nativeLoadError). */
export function nativeBackend(): NativeBackend | null {
  if (loaded !== undefined) return suspended > 0 ? null : loaded;
  loaded = null;
  if (process.env.DESTRA_NATIVE === '0' || process.env.DESTRA_BLS_BACKEND === 'noble') {
    loadError = 'disabled by DESTRA_NATIVE=0 or DESTRA_BLS_BACKEND=noble';
  } else if (!existsSync(NATIVE_ADDON_PATH)) {
    loadError = `${NATIVE_ADDON_PATH} is not built (bash protocol/native/build.sh)`;
  } else {
    try {
      loaded = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeBackend;
    } catch (err) {
      loadError = `could not load ${NATIVE_ADDON_PATH}: ${(err as Error).message}`;
    }
  }
  return suspended > 0 ? null : loaded;
}

/** Why nativeBackend() is null (for logs and the crypto bench). */
export const nativeLoadError = (): string | undefined => (nativeBackend() ? undefined : loadError);

let suspended = 0;

/** Runs f without the native backend (to measure or cross-check the wasm/JS paths). */
export function withoutNative<T>(f: () => T): T {
  suspended++;
  try {
    return f();
  } finally {
    suspended--;
  }
}
