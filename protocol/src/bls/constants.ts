/** Domain separation tag for report and handover signatures (min-sig: signatures in G1). */
export const DESTRA_DST = 'DESTRA_V1_BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';
/** Domain separation tag for proofs of possession of operator keys (message = compressed G2 key). */
export const DESTRA_POP_DST = 'DESTRA_V1_BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_';

export const G1_COMPRESSED_LENGTH = 48;
export const G1_UNCOMPRESSED_LENGTH = 96;
export const G2_COMPRESSED_LENGTH = 96;
export const G2_UNCOMPRESSED_LENGTH = 192;
export const G1_EIP2537_LENGTH = 128;
export const G2_EIP2537_LENGTH = 256;
export const SECRET_KEY_LENGTH = 32;
