// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BLS} from "../../src/BLS.sol";

/// Test-only: exposes the BLS library so TypeScript tests can check it against the shared vectors.
contract BLSHarness {
    function hashToG1(bytes calldata message, bytes calldata dst) external view returns (bytes memory) {
        return BLS.hashToG1(message, dst);
    }


    function verify(bytes calldata publicKey, bytes calldata message, bytes calldata signature, bytes calldata dst) external view returns (bool) {
        return BLS.verify(publicKey, message, signature, dst);
    }

    function checkG2(bytes calldata publicKey) external view returns (bool) {
        BLS.checkG2(publicKey);
        return true;
    }

    function g2FromZcash(bytes calldata z) external pure returns (bytes memory) {
        return BLS.g2FromZcash(z);
    }

    function g2Compress(bytes calldata e) external pure returns (bytes memory) {
        return BLS.g2Compress(e);
    }

    /// Gas of one verification, measured inside the EVM (excludes calldata and the call overhead).
    function verifyGas(bytes calldata publicKey, bytes calldata message, bytes calldata signature) external view returns (uint256 gasUsed, bool ok) {
        uint256 start = gasleft();
        ok = BLS.verify(publicKey, message, signature, BLS.DESTRA_DST);
        gasUsed = start - gasleft();
    }
}
