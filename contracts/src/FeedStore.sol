// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BLS} from "./BLS.sol";
import {ReportLib} from "./ReportLib.sol";
import {CommitteeRegistry} from "./CommitteeRegistry.sol";

/// @title Push feeds: the latest committee-signed round per feed id (one per model and input source).
/// @notice Anyone may relay a signed feed report; only a verified report with a higher round than the
///         stored one replaces it. A report is verified under the key of the epoch it names while the
///         registry accepts that epoch (current, or retired within the handover grace window). Readers get values, round, timestamp and epoch in one call.
contract FeedStore {
    error WrongKind(uint8 kind);
    error WrongDomain();
    error WrongDestination();
    error WrongEpoch(uint64 reportEpoch, uint64 batchEpoch);
    /// Reverted by CommitteeRegistry.reportKey (declared here so FeedStore's ABI decodes it).
    error EpochRetired(uint64 epoch, uint64 currentEpoch, uint64 graceEndedAt);
    error UnknownEpoch(uint64 epoch);
    error StaleRound(uint64 round, uint64 latest);
    error BadSignature();
    error UnknownFeed(bytes32 feedId);
    error LengthMismatch();

    event FeedUpdated(bytes32 indexed feedId, uint64 round, uint64 timestamp, uint64 epoch);

    struct Round {
        uint64 round;
        uint64 timestamp;
        uint64 epoch;
        bytes32 modelHash;
        bytes values; // k int64 big-endian values, as signed
    }

    bytes32 public immutable domain;
    CommitteeRegistry public immutable registry;
    mapping(bytes32 => Round) private rounds;

    constructor(bytes32 domain_, CommitteeRegistry registry_) {
        domain = domain_;
        registry = registry_;
    }

    function updateFeed(bytes calldata report, bytes calldata signature) external {
        ReportLib.Header memory h = _check(report);
        bytes memory key = registry.reportKey(h.epoch);
        if (!BLS.verify(key, ReportLib.signingMessage(ReportLib.PURPOSE_ROOT, ReportLib.leaf(report)), signature, BLS.DESTRA_DST)) revert BadSignature();
        _store(h, report, true);
    }

    /// @notice Many feed reports under one signed Merkle root; stale ones are skipped.
    function updateFeeds(bytes32 root, bytes calldata signature, bytes[] calldata reports, bytes32[][] calldata proofs) external {
        if (reports.length != proofs.length || reports.length == 0) revert LengthMismatch();
        uint64 epoch = _check(reports[0]).epoch;
        for (uint256 i = 0; i < reports.length; i++) {
            uint64 reportEpoch = _check(reports[i]).epoch;
            if (reportEpoch != epoch) revert WrongEpoch(reportEpoch, epoch);
            if (ReportLib.rootFromProof(ReportLib.leaf(reports[i]), proofs[i]) != root) revert ReportLib.MerkleProofInvalid();
        }
        if (!BLS.verify(registry.reportKey(epoch), ReportLib.signingMessage(ReportLib.PURPOSE_ROOT, root), signature, BLS.DESTRA_DST)) revert BadSignature();
        for (uint256 i = 0; i < reports.length; i++) _store(ReportLib.parse(reports[i]), reports[i], false);
    }

    function latestRound(bytes32 feedId) external view returns (int64[] memory values, uint64 round, uint64 timestamp, uint64 epoch) {
        Round storage r = rounds[feedId];
        if (r.round == 0 && r.timestamp == 0) revert UnknownFeed(feedId);
        bytes memory v = r.values;
        values = new int64[](v.length / 8);
        for (uint256 i = 0; i < values.length; i++) {
            uint64 w;
            assembly ("memory-safe") {
                w := shr(192, mload(add(add(v, 32), mul(i, 8))))
            }
            values[i] = int64(w);
        }
        return (values, r.round, r.timestamp, r.epoch);
    }

    function modelOf(bytes32 feedId) external view returns (bytes32) {
        return rounds[feedId].modelHash;
    }

    function _check(bytes calldata report) private view returns (ReportLib.Header memory h) {
        h = ReportLib.parse(report);
        if (h.kind != ReportLib.KIND_FEED) revert WrongKind(h.kind);
        if (h.domain != domain) revert WrongDomain();
        if (h.destChainType == ReportLib.CHAIN_SVM) revert WrongDestination();
        if (h.destChainType == ReportLib.CHAIN_EVM && (uint256(h.destChainId) != block.chainid || h.destContract != bytes32(uint256(uint160(address(this)))))) {
            revert WrongDestination();
        }
    }

    function _store(ReportLib.Header memory h, bytes calldata report, bool strict) private {
        Round storage r = rounds[h.id];
        if (h.round <= r.round) {
            if (strict) revert StaleRound(h.round, r.round);
            return;
        }
        r.round = h.round;
        r.timestamp = h.timestamp;
        r.epoch = h.epoch;
        r.modelHash = h.modelHash;
        r.values = report[ReportLib.HEADER_LENGTH:];
        emit FeedUpdated(h.id, h.round, h.timestamp, h.epoch);
    }
}
