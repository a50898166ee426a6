// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Calldata decoder of the committee handover bytes (docs/report-format.md §4).
library HandoverLib {
    error HandoverMalformed(string field);

    uint256 internal constant LENGTH = 341;
    uint8 internal constant VERSION = 2;
    uint256 internal constant MAX_COMMITTEE = 256;

    struct Handover {
        bytes32 domain;
        uint64 oldEpoch;
        uint64 newEpoch;
        uint16 threshold;
        uint16 committeeSize;
        bytes32 sharesRoot;
        bytes32 membersRoot;
        /// keccak256 of the Solana fee payout table (payee ‖ weight u64 BE per member); the Solana program
        /// pays fees by it, the EVM side only decodes it
        bytes32 payoutsRoot;
    }

    /// @notice Checks length, version, epoch succession and 1 <= t <= n <= 256; the group key stays in
    ///         calldata (see groupKey) because converting it is the caller's choice.
    function parse(bytes calldata h) internal pure returns (Handover memory out) {
        if (h.length != LENGTH) revert HandoverMalformed("length");
        if (uint8(h[0]) != VERSION) revert HandoverMalformed("version");
        out.domain = bytes32(h[1:33]);
        out.oldEpoch = uint64(bytes8(h[33:41]));
        out.newEpoch = uint64(bytes8(h[41:49]));
        if (out.oldEpoch == type(uint64).max || out.newEpoch != out.oldEpoch + 1) revert HandoverMalformed("newEpoch");
        out.threshold = uint16(bytes2(h[49:51]));
        out.committeeSize = uint16(bytes2(h[51:53]));
        if (out.threshold == 0 || out.threshold > out.committeeSize || out.committeeSize > MAX_COMMITTEE) revert HandoverMalformed("threshold");
        out.sharesRoot = bytes32(h[245:277]);
        out.membersRoot = bytes32(h[277:309]);
        out.payoutsRoot = bytes32(h[309:341]);
    }

    /// @notice The new group key, uncompressed ZCash G2 (192 bytes).
    function groupKey(bytes calldata h) internal pure returns (bytes calldata) {
        return h[53:245];
    }
}
