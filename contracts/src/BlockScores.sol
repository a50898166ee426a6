// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BLS} from "./BLS.sol";
import {ReportLib} from "./ReportLib.sol";
import {CommitteeRegistry} from "./CommitteeRegistry.sol";
import {FeedRegistry} from "./FeedRegistry.sol";

/// @title Per-block roots of a block feed: one committee-signed Merkle root per Ethereum block, one leaf per
///        transaction (docs/report-format.md §6).
/// @notice Every leaf is a feed report (kind 2) with id = the block feed's id, round = the block number,
///         timestamp = the block's timestamp, inputHash = keccak256(uint64 blockNumber ‖ blockHash ‖ txHash ‖
///         input row), addressed to this contract (EVM destination), so FeedStore and the Solana program
///         refuse it and only this contract stores it. Anyone may relay a signed root with any one of its
///         reports and that report's proof: the report names the feed and the block, so a root cannot be
///         filed under another block. The first verified root for a (feed, block) stays; a second one (the
///         same block signed again in a later epoch) reverts BlockKnown. A transaction's score is then
///         checked by proof against the stored root (verifyTxScore).
contract BlockScores {
    error WrongKind(uint8 kind);
    error WrongDomain();
    error WrongDestination();
    error NotBlockFeed(bytes32 feedId, uint8 source);
    error BlockKnown(bytes32 feedId, uint64 blockNumber, bytes32 root);
    error UnknownBlock(bytes32 feedId, uint64 blockNumber);
    error WrongBlock(uint64 reportRound, uint64 blockNumber);
    error WrongFeed(bytes32 reportId, bytes32 feedId);
    error InputMismatch();
    error BadSignature();
    /// Reverted by CommitteeRegistry.reportKey / FeedRegistry.sourceOf (declared here so this ABI decodes them).
    error EpochRetired(uint64 epoch, uint64 currentEpoch, uint64 graceEndedAt);
    error UnknownEpoch(uint64 epoch);
    error UnknownFeed(bytes32 feedId);

    event BlockScored(bytes32 indexed feedId, uint64 indexed blockNumber, bytes32 root, uint64 epoch, uint64 timestamp);

    struct Scored {
        bytes32 root;
        uint64 epoch;
        uint64 timestamp; // the block's timestamp, as signed
    }

    bytes32 public immutable domain;
    CommitteeRegistry public immutable registry;
    FeedRegistry public immutable feedRegistry;
    mapping(bytes32 => mapping(uint64 => Scored)) private roots;
    mapping(bytes32 => uint64) public latestBlock;

    constructor(bytes32 domain_, CommitteeRegistry registry_, FeedRegistry feedRegistry_) {
        domain = domain_;
        registry = registry_;
        feedRegistry = feedRegistry_;
    }

    /// @notice Stores `root` as the scores of the block `report` names, after checking `report` is in it
    ///         and the committee of the report's epoch signed it.
    function submitRoot(bytes32 root, bytes calldata signature, bytes calldata report, bytes32[] calldata proof) external {
        ReportLib.Header memory h = _check(report);
        uint8 source = feedRegistry.sourceOf(h.id);
        if (source != 1) revert NotBlockFeed(h.id, source); // FeedRegistry.SOURCE_BLOCK_TRANSACTIONS
        if (ReportLib.rootFromProof(ReportLib.leaf(report), proof) != root) revert ReportLib.MerkleProofInvalid();
        Scored storage s = roots[h.id][h.round];
        if (s.root != 0) revert BlockKnown(h.id, h.round, s.root);
        if (!BLS.verify(registry.reportKey(h.epoch), ReportLib.signingMessage(ReportLib.PURPOSE_ROOT, root), signature, BLS.DESTRA_DST)) revert BadSignature();
        (s.root, s.epoch, s.timestamp) = (root, h.epoch, h.timestamp);
        if (h.round > latestBlock[h.id]) latestBlock[h.id] = h.round;
        emit BlockScored(h.id, h.round, root, h.epoch, h.timestamp);
    }

    function rootOf(bytes32 feedId, uint64 blockNumber) external view returns (bytes32 root, uint64 epoch, uint64 timestamp) {
        Scored storage s = roots[feedId][blockNumber];
        if (s.root == 0) revert UnknownBlock(feedId, blockNumber);
        return (s.root, s.epoch, s.timestamp);
    }

    /// @notice A transaction's score, checked: the report is the feed's leaf for this block and transaction
    ///         (its inputHash binds block number, block hash, transaction hash and the input row the model
    ///         scored) and its proof leads to the stored root. Reverts otherwise.
    function verifyTxScore(bytes32 feedId, uint64 blockNumber, bytes32 blockHash, bytes32 txHash, bytes calldata input, bytes calldata report, bytes32[] calldata proof)
        external
        view
        returns (int64[] memory values)
    {
        ReportLib.Header memory h = _check(report);
        if (h.id != feedId) revert WrongFeed(h.id, feedId);
        if (h.round != blockNumber) revert WrongBlock(h.round, blockNumber);
        if (h.inputHash != keccak256(abi.encodePacked(blockNumber, blockHash, txHash, input))) revert InputMismatch();
        Scored storage s = roots[feedId][blockNumber];
        if (s.root == 0) revert UnknownBlock(feedId, blockNumber);
        if (ReportLib.rootFromProof(ReportLib.leaf(report), proof) != s.root) revert ReportLib.MerkleProofInvalid();
        return ReportLib.outputs(report, h.outputCount);
    }

    function _check(bytes calldata report) private view returns (ReportLib.Header memory h) {
        h = ReportLib.parse(report);
        if (h.kind != ReportLib.KIND_FEED) revert WrongKind(h.kind);
        if (h.domain != domain) revert WrongDomain();
        if (h.destChainType != ReportLib.CHAIN_EVM || uint256(h.destChainId) != block.chainid || h.destContract != bytes32(uint256(uint160(address(this))))) {
            revert WrongDestination();
        }
    }
}
