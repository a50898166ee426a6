// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title BLS12-381 min-sig verification on the EIP-2537 precompiles.
/// @notice Signatures in G1, public keys in G2, points in EIP-2537 encoding (G1: 128 bytes, G2: 256 bytes,
///         each Fp as 16 zero bytes + 48 big-endian bytes; Fp2 as c0 || c1). Hash-to-G1 is RFC 9380
///         BLS12381G1_XMD:SHA-256_SSWU_RO_ with the DST a parameter (docs/report-format.md §3).
/// @dev Every precompile failure reverts with a named error, so gas estimation sees the failure.
library BLS {
    error BlsPrecompileFailed(address precompile);
    error BlsInvalidLength(uint256 got, uint256 expected);
    error BlsIdentityPoint();
    error BlsDstTooLong();

    address internal constant G1_ADD = address(0x0b);
    address internal constant G2_MSM = address(0x0e);
    address internal constant PAIRING_CHECK = address(0x0f);
    address internal constant MAP_FP_TO_G1 = address(0x10);

    bytes internal constant DESTRA_DST = "DESTRA_V1_BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";
    bytes internal constant DESTRA_POP_DST = "DESTRA_V1_BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";

    // p, the BLS12-381 base field modulus, as 64 bytes (EIP-2537 width) for MODEXP.
    bytes32 private constant P_HI = 0x000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd7;
    bytes32 private constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;
    // (p - 1) / 2, to decide the sign bit when compressing.
    uint256 private constant HALF_P_HI = 0x0d0088f51cbff34d258dd3db21a5d66b;
    uint256 private constant HALF_P_LO = 0xb23ba5c279c2895fb39869507b587b120f55ffff58a9ffffdcff7fffffffd555;

    // -G2 generator in EIP-2537 encoding, for e(sig, -g2) * e(H(m), pk) == 1.
    bytes32 private constant NEG_G2_0 = 0x00000000000000000000000000000000024aa2b2f08f0a91260805272dc51051;
    bytes32 private constant NEG_G2_1 = 0xc6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8;
    bytes32 private constant NEG_G2_2 = 0x0000000000000000000000000000000013e02b6052719f607dacd3a088274f65;
    bytes32 private constant NEG_G2_3 = 0x596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e;
    bytes32 private constant NEG_G2_4 = 0x000000000000000000000000000000000d1b3cc2c7027888be51d9ef691d77bc;
    bytes32 private constant NEG_G2_5 = 0xb679afda66c73f17f9ee3837a55024f78c71363275a75d75d86bab79f74782aa;
    bytes32 private constant NEG_G2_6 = 0x0000000000000000000000000000000013fa4d4a0ad8b1ce186ed5061789213d;
    bytes32 private constant NEG_G2_7 = 0x993923066dddaf1040bc3ff59f825c78df74f2d75467e25e0f55f8a00fa030ed;

    /// @notice RFC 9380 hash_to_curve into G1 (EIP-2537 encoding). expand_message_xmd with the SHA-256
    ///         precompile (len_in_bytes = 128), each 64-byte half reduced mod p with MODEXP (exponent 1),
    ///         MAP_FP_TO_G1 on both (the precompile clears the cofactor, a homomorphism, so
    ///         clear(Q0) + clear(Q1) = clear(Q0 + Q1)), then G1ADD. Written against one scratch buffer
    ///         because allocation and copying would cost more than the hashing itself.
    function hashToG1(bytes memory message, bytes memory dst) internal view returns (bytes memory point) {
        uint256 dstLen = dst.length;
        if (dstLen > 255) revert BlsDstTooLong();
        point = new bytes(128);
        bool ok = true;
        assembly ("memory-safe") {
            let m := mload(0x40) // scratch space past the free-memory pointer (not kept)
            let msgLen := mload(message)
            // b0 = H(Z_pad(64) || msg || I2OSP(128, 2) || 0x00 || DST || len(DST))
            mstore(m, 0)
            mstore(add(m, 32), 0)
            mcopy(add(m, 64), add(message, 32), msgLen)
            let p := add(add(m, 64), msgLen)
            mstore8(p, 0)
            mstore8(add(p, 1), 128)
            mstore8(add(p, 2), 0)
            p := add(p, 3)
            mcopy(p, add(dst, 32), dstLen)
            p := add(p, dstLen)
            mstore8(p, dstLen)
            p := add(p, 1)
            let h := p // h: b0, h+32..h+160: b1..b4 (the 128 uniform bytes)
            ok := and(ok, staticcall(gas(), 0x02, m, sub(p, m), h, 32))
            // b_i = H((b0 xor b_{i-1}) || i || DST || len(DST)); b1 uses b0 itself
            let q := add(h, 160)
            mcopy(add(q, 33), add(dst, 32), dstLen)
            mstore8(add(add(q, 33), dstLen), dstLen)
            let qLen := add(34, dstLen)
            mstore(q, mload(h))
            mstore8(add(q, 32), 1)
            ok := and(ok, staticcall(gas(), 0x02, q, qLen, add(h, 32), 32))
            for { let i := 2 } lt(i, 5) { i := add(i, 1) } {
                mstore(q, xor(mload(h), mload(add(h, mul(sub(i, 1), 32)))))
                mstore8(add(q, 32), i)
                ok := and(ok, staticcall(gas(), 0x02, q, qLen, add(h, mul(i, 32)), 32))
            }
            // u_j = OS2IP(uniform[64j .. 64j+64]) mod p via MODEXP(base, 1, p), written into the MAP inputs
            let r := add(add(q, qLen), 32)
            let u := add(r, 256) // u0 at u, u1 at u+64
            mstore(r, 64)
            mstore(add(r, 32), 1)
            mstore(add(r, 64), 64)
            for { let j := 0 } lt(j, 2) { j := add(j, 1) } {
                mstore(add(r, 96), mload(add(h, add(32, mul(j, 64)))))
                mstore(add(r, 128), mload(add(h, add(64, mul(j, 64)))))
                mstore8(add(r, 160), 1)
                mstore(add(r, 161), P_HI)
                mstore(add(r, 193), P_LO)
                ok := and(ok, staticcall(gas(), 0x05, r, 225, add(u, mul(j, 64)), 64))
            }
            let a := add(u, 128) // G1ADD input: map(u0) || map(u1)
            ok := and(ok, staticcall(gas(), 0x10, u, 64, a, 128))
            ok := and(ok, staticcall(gas(), 0x10, add(u, 64), 64, add(a, 128), 128))
            ok := and(ok, staticcall(gas(), 0x0b, a, 256, add(point, 32), 128))
        }
        if (!ok) revert BlsPrecompileFailed(MAP_FP_TO_G1);
    }

    /// @notice e(sig, -g2) * e(hashedMessage, publicKey) == 1. The precompile checks that every point is
    ///         on its curve and in the prime-order subgroup (failing otherwise); the identity is refused
    ///         here because the pairing would accept it.
    function verifyHashed(bytes memory publicKey, bytes memory hashedMessage, bytes memory signature) internal view returns (bool valid) {
        if (signature.length != 128) revert BlsInvalidLength(signature.length, 128);
        if (publicKey.length != 256) revert BlsInvalidLength(publicKey.length, 256);
        if (_isZero(signature) || _isZero(publicKey)) revert BlsIdentityPoint();
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mcopy(m, add(signature, 32), 128)
            mstore(add(m, 128), NEG_G2_0)
            mstore(add(m, 160), NEG_G2_1)
            mstore(add(m, 192), NEG_G2_2)
            mstore(add(m, 224), NEG_G2_3)
            mstore(add(m, 256), NEG_G2_4)
            mstore(add(m, 288), NEG_G2_5)
            mstore(add(m, 320), NEG_G2_6)
            mstore(add(m, 352), NEG_G2_7)
            mcopy(add(m, 384), add(hashedMessage, 32), 128)
            mcopy(add(m, 512), add(publicKey, 32), 256)
            ok := staticcall(gas(), 0x0f, m, 768, m, 32)
            ok := and(ok, eq(returndatasize(), 32))
            valid := eq(mload(m), 1)
        }
        if (!ok) revert BlsPrecompileFailed(PAIRING_CHECK);
    }

    /// @notice Reverts unless `publicKey` is a G2 point (EIP-2537) on the curve, in the prime-order
    ///         subgroup and not the identity: G2MSM by 1 runs exactly the precompile's own checks.
    function checkG2(bytes memory publicKey) internal view {
        if (publicKey.length != 256) revert BlsInvalidLength(publicKey.length, 256);
        if (_isZero(publicKey)) revert BlsIdentityPoint();
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mcopy(m, add(publicKey, 32), 256)
            mstore(add(m, 256), 1)
            ok := staticcall(gas(), 0x0e, m, 288, m, 256)
        }
        if (!ok) revert BlsPrecompileFailed(G2_MSM);
    }

    /// @notice Verifies a min-sig signature (EIP-2537 encodings) over `message` under `dst`.
    function verify(bytes memory publicKey, bytes memory message, bytes memory signature, bytes memory dst) internal view returns (bool) {
        return verifyHashed(publicKey, hashToG1(message, dst), signature);
    }

    /// @notice Uncompressed ZCash G2 (x.c1 || x.c0 || y.c1 || y.c0, 48 bytes each) to EIP-2537.
    function g2FromZcash(bytes memory z) internal pure returns (bytes memory e) {
        if (z.length != 192) revert BlsInvalidLength(z.length, 192);
        if (uint8(z[0]) & 0xe0 != 0) revert BlsIdentityPoint(); // compression/infinity/sign flags are not allowed here
        e = new bytes(256);
        _copy48(z, 48, e, 16); // x.c0
        _copy48(z, 0, e, 80); // x.c1
        _copy48(z, 144, e, 144); // y.c0
        _copy48(z, 96, e, 208); // y.c1
    }

    /// @notice EIP-2537 G2 to 96-byte compressed ZCash form (the proof-of-possession message).
    function g2Compress(bytes memory e) internal pure returns (bytes memory c) {
        if (e.length != 256) revert BlsInvalidLength(e.length, 256);
        c = new bytes(96);
        _copy48(e, 80, c, 0); // x.c1
        _copy48(e, 16, c, 48); // x.c0
        (uint256 y1hi, uint256 y1lo) = _fp(e, 192);
        (uint256 y0hi, uint256 y0lo) = _fp(e, 128);
        bool larger = (y1hi | y1lo) != 0 ? _gtHalf(y1hi, y1lo) : _gtHalf(y0hi, y0lo);
        c[0] = bytes1(uint8(c[0]) | 0x80 | (larger ? 0x20 : 0));
    }

    function _gtHalf(uint256 hi, uint256 lo) private pure returns (bool) {
        return hi > HALF_P_HI || (hi == HALF_P_HI && lo > HALF_P_LO);
    }

    function _fp(bytes memory e, uint256 offset) private pure returns (uint256 hi, uint256 lo) {
        assembly ("memory-safe") {
            hi := mload(add(add(e, 32), offset))
            lo := mload(add(add(e, 64), offset))
        }
    }

    function _copy48(bytes memory src, uint256 from, bytes memory dst, uint256 to) private pure {
        assembly ("memory-safe") {
            let s := add(add(src, 32), from)
            let d := add(add(dst, 32), to)
            mstore(d, mload(s))
            // last 16 bytes, keeping whatever follows in dst
            let tail := add(d, 32)
            let keep := and(mload(tail), 0x00000000000000000000000000000000ffffffffffffffffffffffffffffffff)
            mstore(tail, or(and(mload(add(s, 32)), not(0x00000000000000000000000000000000ffffffffffffffffffffffffffffffff)), keep))
        }
    }

    function _isZero(bytes memory b) private pure returns (bool zero) {
        zero = true;
        for (uint256 i = 0; i < b.length; i += 32) {
            bytes32 w;
            assembly ("memory-safe") {
                w := mload(add(add(b, 32), i))
            }
            if (w != 0) return false;
        }
    }
}
