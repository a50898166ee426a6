// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ModelRegistry} from "./ModelRegistry.sol";

/// @title Push feeds defined on chain: what the committee publishes, from which input, how often, where to.
/// @notice Governance (the DestraGovernor after deployment) adds, changes and removes feeds; nodes in
///         chain-control mode read this registry and follow its events, so a feed starts, changes or stops
///         on every node without a restart or a config file. A feed's id is keccak256(name), the report
///         `id` its rounds carry (docs/report-format.md §1). Two input sources:
///         - FIXED: `params` is the model's canonical input row (int64 big-endian values). The feed is
///           evaluated once per `window`; a round is signed when `heartbeat` seconds have passed since the
///           last published round or the output moved more than `deviationBps` from it (docs/node.md).
///           Rounds go to FeedStore (Ethereum) and/or the Solana program's feed account (`destinations`).
///         - BLOCK_TRANSACTIONS: `params` is a big-endian uint16 confirmation depth. Every transaction of
///           every Ethereum block after `sinceBlock` (read `confirmations` blocks deep) is scored with the
///           model; one Merkle root per block is signed and stored in BlockScores (Ethereum only).
contract FeedRegistry {
    error NotGovernance();
    error InvalidFeed(string field);
    error UnknownFeed(bytes32 feedId);
    error FeedExists(bytes32 feedId);
    error TooManyFeeds(uint256 max);
    error InvalidWindow(uint32 window);
    /// Reverted by ModelRegistry.modelHashOf for a model that is not registered (declared here so this
    /// registry's ABI decodes it).
    error UnknownModel(bytes32 node);

    uint8 public constant SOURCE_FIXED = 0;
    uint8 public constant SOURCE_BLOCK_TRANSACTIONS = 1;
    /// Destination bits.
    uint8 public constant DEST_ETHEREUM = 1;
    uint8 public constant DEST_SOLANA = 2;
    uint256 public constant MAX_FEEDS = 256;
    /// A fixed input is at most 512 int64 values (OracleRouter.MAX_INPUT_BYTES).
    uint256 public constant MAX_FIXED_INPUT = 4096;
    uint256 public constant MAX_NAME = 64;
    uint32 public constant MAX_WINDOW = 3600;

    struct Feed {
        bytes32 model; // ModelRegistry node (namehash of the model's registered name)
        uint8 source;
        uint8 destinations;
        uint16 deviationBps; // 0: heartbeat only
        uint32 heartbeat; // seconds (FIXED); 0 for BLOCK_TRANSACTIONS
        uint32 revision; // 1 when added, +1 on every change
        uint64 sinceBlock; // block of the add (BLOCK_TRANSACTIONS scores the blocks after it)
        bytes params;
        string name;
    }

    event FeedAdded(bytes32 indexed feedId, string name, bytes32 model, uint8 source, bytes params, uint32 heartbeat, uint16 deviationBps, uint8 destinations);
    event FeedChanged(bytes32 indexed feedId, uint32 revision, bytes32 model, uint8 source, bytes params, uint32 heartbeat, uint16 deviationBps, uint8 destinations);
    event FeedRemoved(bytes32 indexed feedId);
    event WindowSet(uint32 window);
    event BlockScoresSet(address blockScores);

    address public governance;
    ModelRegistry public immutable models;
    /// Where FIXED feeds' rounds are stored on Ethereum (and read back for the deviation check).
    address public immutable feedStore;
    /// Where BLOCK_TRANSACTIONS feeds' roots are stored (their reports are addressed to it).
    address public blockScores;
    /// Seconds per evaluation window of FIXED feeds; a round's number and timestamp are its window start.
    uint32 public window;
    bytes32[] private ids;
    mapping(bytes32 => uint256) private position; // index in ids + 1
    mapping(bytes32 => Feed) private feeds;

    constructor(address governance_, ModelRegistry models_, address feedStore_, uint32 window_) {
        if (window_ == 0 || window_ > MAX_WINDOW) revert InvalidWindow(window_);
        governance = governance_;
        models = models_;
        feedStore = feedStore_;
        window = window_;
    }

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    function setGovernance(address next) external onlyGovernance {
        governance = next;
    }

    function setWindow(uint32 window_) external onlyGovernance {
        if (window_ == 0 || window_ > MAX_WINDOW) revert InvalidWindow(window_);
        window = window_;
        emit WindowSet(window_);
    }

    function setBlockScores(address blockScores_) external onlyGovernance {
        blockScores = blockScores_;
        emit BlockScoresSet(blockScores_);
    }

    function addFeed(string calldata name, bytes32 model, uint8 source, bytes calldata params, uint32 heartbeat, uint16 deviationBps, uint8 destinations)
        external
        onlyGovernance
        returns (bytes32 feedId)
    {
        if (bytes(name).length == 0 || bytes(name).length > MAX_NAME) revert InvalidFeed("name length");
        feedId = keccak256(bytes(name));
        if (position[feedId] != 0) revert FeedExists(feedId);
        if (ids.length >= MAX_FEEDS) revert TooManyFeeds(MAX_FEEDS);
        _check(model, source, params, heartbeat, deviationBps, destinations);
        ids.push(feedId);
        position[feedId] = ids.length;
        feeds[feedId] = Feed(model, source, destinations, deviationBps, heartbeat, 1, uint64(block.number), params, name);
        emit FeedAdded(feedId, name, model, source, params, heartbeat, deviationBps, destinations);
    }

    /// @notice Changes a feed in place (same id and name); nodes pick the new definition up from the event.
    function updateFeed(bytes32 feedId, bytes32 model, uint8 source, bytes calldata params, uint32 heartbeat, uint16 deviationBps, uint8 destinations)
        external
        onlyGovernance
    {
        if (position[feedId] == 0) revert UnknownFeed(feedId);
        _check(model, source, params, heartbeat, deviationBps, destinations);
        Feed storage f = feeds[feedId];
        // a feed that becomes a block feed scores the blocks after the change, not its whole past
        if (source == SOURCE_BLOCK_TRANSACTIONS && f.source != SOURCE_BLOCK_TRANSACTIONS) f.sinceBlock = uint64(block.number);
        (f.model, f.source, f.params, f.heartbeat, f.deviationBps, f.destinations) = (model, source, params, heartbeat, deviationBps, destinations);
        f.revision += 1;
        emit FeedChanged(feedId, f.revision, model, source, params, heartbeat, deviationBps, destinations);
    }

    function removeFeed(bytes32 feedId) external onlyGovernance {
        uint256 p = position[feedId];
        if (p == 0) revert UnknownFeed(feedId);
        bytes32 last = ids[ids.length - 1];
        ids[p - 1] = last;
        position[last] = p;
        ids.pop();
        delete position[feedId];
        delete feeds[feedId];
        emit FeedRemoved(feedId);
    }

    function feedIds() external view returns (bytes32[] memory) {
        return ids;
    }

    function feedCount() external view returns (uint256) {
        return ids.length;
    }

    function feed(bytes32 feedId) external view returns (Feed memory) {
        if (position[feedId] == 0) revert UnknownFeed(feedId);
        return feeds[feedId];
    }

    /// @notice The feed's input source (reverts UnknownFeed): what BlockScores checks before storing a root.
    function sourceOf(bytes32 feedId) external view returns (uint8) {
        if (position[feedId] == 0) revert UnknownFeed(feedId);
        return feeds[feedId].source;
    }

    function _check(bytes32 model, uint8 source, bytes calldata params, uint32 heartbeat, uint16 deviationBps, uint8 destinations) private view {
        models.modelHashOf(model); // reverts UnknownModel: a feed names a registered model
        if (deviationBps > 10_000) revert InvalidFeed("deviationBps");
        if (source == SOURCE_FIXED) {
            if (params.length == 0 || params.length > MAX_FIXED_INPUT || params.length % 8 != 0) revert InvalidFeed("params");
            if (heartbeat == 0) revert InvalidFeed("heartbeat");
            if (destinations == 0 || destinations > (DEST_ETHEREUM | DEST_SOLANA)) revert InvalidFeed("destinations");
        } else if (source == SOURCE_BLOCK_TRANSACTIONS) {
            // params: uint16 confirmations; one spelling: no heartbeat or deviation, Ethereum only
            if (params.length != 2) revert InvalidFeed("params");
            if (heartbeat != 0 || deviationBps != 0) revert InvalidFeed("heartbeat");
            if (destinations != DEST_ETHEREUM) revert InvalidFeed("destinations");
            if (blockScores == address(0)) revert InvalidFeed("blockScores");
        } else {
            revert InvalidFeed("source");
        }
    }
}
