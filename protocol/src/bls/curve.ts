// The one place that binds the protocol to noble's BLS12-381. Everything else imports from here.
import { bls12_381 } from '@noble/curves/bls12-381.js';

export const bls = bls12_381;
export const G1 = bls12_381.G1.Point;
export const G2 = bls12_381.G2.Point;
export const Fp = bls12_381.fields.Fp;
export const Fp2 = bls12_381.fields.Fp2;
export const Fp12 = bls12_381.fields.Fp12;
export const Fr = bls12_381.fields.Fr;

export type G1Point = InstanceType<typeof G1>;
export type G2Point = InstanceType<typeof G2>;
export type Fp2Element = { c0: bigint; c1: bigint };

/** Field modulus p and group order r. */
export const P_MODULUS: bigint = Fp.ORDER;
export const R_ORDER: bigint = Fr.ORDER;
