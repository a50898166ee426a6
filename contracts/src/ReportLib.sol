// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Calldata views of the signed report bytes (docs/report-format.md §1-3).
/// @dev Fields are read at fixed offsets straight from calldata: no copying, no abi decoding.
library ReportLib {
    error ReportMalformed(string field);
    error MerkleProofInvalid();

    uint8 internal constant VERSION = 2;
    uint8 internal constant KIND_REQUEST = 1;
    uint8 internal constant KIND_FEED = 2;
    uint8 internal constant KIND_ON_DEMAND = 3;
    uint8 internal constant CHAIN_ANY = 0;
    uint8 internal constant CHAIN_EVM = 1;
    uint8 internal constant CHAIN_SVM = 2;
    /// status byte (0 ok; 1..MAX_STATUS a failure report: no outputs, request answers only), then the u16
    /// outputCount, then the outputs at HEADER_LENGTH
    uint256 internal constant STATUS_OFFSET = 219;
    uint8 internal constant STATUS_OK = 0;
    uint8 internal constant MAX_STATUS = 4;
    uint256 internal constant HEADER_LENGTH = 222;
    uint256 internal constant MAX_OUTPUTS = 64;
    uint256 internal constant MAX_PROOF_DEPTH = 16;
    bytes1 internal constant PURPOSE_ROOT = 0x01;
    bytes1 internal constant PURPOSE_HANDOVER = 0x02;

    struct Header {
        uint8 kind;
        bytes32 domain;
        uint64 epoch;
        uint8 destChainType;
        bytes32 destChainId;
        bytes32 destContract;
        bytes32 id;
        bytes32 modelHash;
        bytes32 inputHash;
        uint64 timestamp;
        uint64 round;
        uint8 status;
        uint16 outputCount;
    }

    /// @notice Checks the structure (version, kind, length, destination and status rules) and returns the header.
    function parse(bytes calldata r) internal pure returns (Header memory h) {
        if (r.length < HEADER_LENGTH) revert ReportMalformed("length");
        if (uint8(r[0]) != VERSION) revert ReportMalformed("version");
        h.kind = uint8(r[1]);
        if (h.kind < KIND_REQUEST || h.kind > KIND_ON_DEMAND) revert ReportMalformed("kind");
        h.domain = bytes32(r[2:34]);
        h.epoch = uint64(bytes8(r[34:42]));
        h.destChainType = uint8(r[42]);
        if (h.destChainType > CHAIN_SVM) revert ReportMalformed("destChainType");
        h.destChainId = bytes32(r[43:75]);
        h.destContract = bytes32(r[75:107]);
        if (h.destChainType == CHAIN_ANY && (h.destChainId != 0 || h.destContract != 0)) revert ReportMalformed("destination");
        if (h.kind == KIND_REQUEST && h.destChainType == CHAIN_ANY) revert ReportMalformed("destChainType");
        h.id = bytes32(r[107:139]);
        h.modelHash = bytes32(r[139:171]);
        h.inputHash = bytes32(r[171:203]);
        h.timestamp = uint64(bytes8(r[203:211]));
        h.round = uint64(bytes8(r[211:219]));
        h.status = uint8(r[STATUS_OFFSET]);
        if (h.status > MAX_STATUS || (h.status != STATUS_OK && h.kind != KIND_REQUEST)) revert ReportMalformed("status");
        h.outputCount = uint16(bytes2(r[220:222]));
        if (h.status == STATUS_OK ? (h.outputCount == 0 || h.outputCount > MAX_OUTPUTS) : h.outputCount != 0) revert ReportMalformed("outputCount");
        if (r.length != HEADER_LENGTH + 8 * uint256(h.outputCount)) revert ReportMalformed("length");
    }

    function outputs(bytes calldata r, uint16 count) internal pure returns (int64[] memory values) {
        values = new int64[](count);
        for (uint256 i = 0; i < count; i++) {
            uint256 at = HEADER_LENGTH + 8 * i;
            values[i] = int64(uint64(bytes8(r[at:at + 8])));
        }
    }

    /// @notice keccak256(0x00 || report)
    function leaf(bytes calldata r) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore8(m, 0)
            calldatacopy(add(m, 1), r.offset, r.length)
            h := keccak256(m, add(r.length, 1))
        }
    }

    /// @notice Inner node: keccak256(0x01 || min(a, b) || max(a, b)).
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32 node) {
        (a, b) = a < b ? (a, b) : (b, a);
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore8(m, 1)
            mstore(add(m, 1), a)
            mstore(add(m, 33), b)
            node := keccak256(m, 65)
        }
    }

    /// @notice Folds a sorted-pair proof: node = keccak256(0x01 || min || max).
    function rootFromProof(bytes32 node, bytes32[] calldata proof) internal pure returns (bytes32) {
        if (proof.length > MAX_PROOF_DEPTH) revert MerkleProofInvalid();
        for (uint256 i = 0; i < proof.length; i++) {
            node = hashPair(node, proof[i]);
        }
        return node;
    }

    /// @notice Root of the tree over all leaves in batch order (docs/report-format.md §2: pairs (0,1),
    ///         (2,3), …, an odd last node carried up). Computed in place; `leaves` is overwritten.
    function rootOf(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        if (n == 0) revert MerkleProofInvalid();
        while (n > 1) {
            uint256 half = n / 2;
            for (uint256 i = 0; i < half; i++) {
                leaves[i] = hashPair(leaves[2 * i], leaves[2 * i + 1]);
            }
            if (n % 2 == 1) leaves[half] = leaves[n - 1];
            n = half + (n % 2);
        }
        return leaves[0];
    }

    /// @notice The 33-byte BLS message: purpose || digest.
    function signingMessage(bytes1 purpose, bytes32 digest) internal pure returns (bytes memory) {
        return abi.encodePacked(purpose, digest);
    }
}
