// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReportLib} from "../../src/ReportLib.sol";
import {HandoverLib} from "../../src/HandoverLib.sol";

/// Test-only: exposes the report and handover decoders so TypeScript tests can check them against the
/// shared vectors in test/vectors/report/.
contract CodecHarness {
    function parse(bytes calldata r) external pure returns (ReportLib.Header memory) {
        return ReportLib.parse(r);
    }

    function outputs(bytes calldata r) external pure returns (int64[] memory) {
        return ReportLib.outputs(r, ReportLib.parse(r).outputCount);
    }

    function leaf(bytes calldata r) external pure returns (bytes32) {
        return ReportLib.leaf(r);
    }

    function rootFromProof(bytes32 leaf_, bytes32[] calldata proof) external pure returns (bytes32) {
        return ReportLib.rootFromProof(leaf_, proof);
    }

    function rootOf(bytes32[] memory leaves) external pure returns (bytes32) {
        return ReportLib.rootOf(leaves);
    }

    function rootMessage(bytes32 root) external pure returns (bytes memory) {
        return ReportLib.signingMessage(ReportLib.PURPOSE_ROOT, root);
    }

    function parseHandover(bytes calldata h) external pure returns (HandoverLib.Handover memory, bytes memory groupKey, bytes memory message) {
        return (HandoverLib.parse(h), HandoverLib.groupKey(h), ReportLib.signingMessage(ReportLib.PURPOSE_HANDOVER, keccak256(h)));
    }
}
