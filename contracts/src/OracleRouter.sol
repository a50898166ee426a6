// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {BLS} from "./BLS.sol";
import {ReportLib} from "./ReportLib.sol";
import {CommitteeRegistry} from "./CommitteeRegistry.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {DelegatedStaking} from "./DelegatedStaking.sol";
import {IDestraConsumer} from "./IDestraConsumer.sol";

/// @title Inference requests with ETH fees, fulfilled by committee-signed reports verified on chain.
/// @notice request() escrows a fee and emits InferenceRequested; nodes answer with a report signed by the
///         committee (threshold BLS, verified with EIP-2537); fulfill()/fulfillBatch() verify it, burn
///         `burnBps` of the fee (kept here forever) and owe the rest to DSYNC stakers (DelegatedStaking
///         pulls it: operator commission, then delegators) and call the consumer back with a bounded gas
///         limit. A failing callback never blocks fulfilment. Unanswered requests are refundable.
contract OracleRouter is ReentrancyGuard {
    error NotGovernance();
    error FeeTooLow(uint256 sent, uint256 required);
    error InputTooLarge(uint256 length, uint256 max);
    error CallbackGasTooHigh(uint32 requested, uint32 max);
    error WrongDomain();
    error WrongKind(uint8 kind);
    error WrongChain();
    error WrongContract();
    error WrongEpoch(uint64 reportEpoch, uint64 batchEpoch);
    /// Reverted by CommitteeRegistry.reportKey (declared here so the router's ABI decodes it).
    error EpochRetired(uint64 epoch, uint64 currentEpoch, uint64 graceEndedAt);
    error UnknownEpoch(uint64 epoch);
    /// Reverted by ModelRegistry.modelHashOf when request() names an unregistered model (declared here so
    /// the router's ABI decodes it).
    error UnknownModel(bytes32 node);
    error UnknownRequest(bytes32 id);
    error AlreadyFulfilled(bytes32 id);
    error InputMismatch(bytes32 id);
    error ModelMismatch(bytes32 id);
    error BadSignature();
    error InsufficientGasForCallback(uint256 available, uint256 needed);
    error NotExpired(uint64 deadline);
    error LengthMismatch();
    error TransferFailed();
    error NotStaking();

    event InferenceRequested(
        bytes32 indexed requestId,
        address indexed requester,
        bytes32 indexed modelId,
        bytes32 modelHash,
        bytes input,
        uint32 callbackGasLimit,
        uint256 fee,
        uint64 deadline
    );
    event RequestFulfilled(bytes32 indexed requestId, bool callbackSucceeded);
    event RequestRefunded(bytes32 indexed requestId, uint256 amount);
    /// A failure report closed the request (status: docs/report-format.md §1.1); the fee less the
    /// processing fee was credited to the requester (withdrawRefund).
    event RequestFailed(bytes32 indexed requestId, uint8 status);
    event FailureFeeChanged(uint16 failureFeeBps);
    event FeeBurned(uint256 amount);
    event FeesCollected(uint256 amount);
    event ParamsChanged(uint256 fee, uint16 burnBps, uint64 timeout, uint32 maxCallbackGas);

    /// Two slots per request. `commitment` binds the model and input while pending, then becomes a
    /// sentinel (FULFILLED / REFUNDED): rewriting one warm non-zero slot is the cheapest replay guard.
    struct Request {
        address requester; // 20 bytes
        uint32 callbackGasLimit;
        uint64 deadline;
        bytes20 commitment; // first 20 bytes of keccak256(modelHash, inputHash)
        uint88 fee;
        bool hasCallback; // lets fulfilment skip the first slot entirely for callback-free requests
    }

    bytes20 private constant FULFILLED = bytes20(uint160(1));
    bytes20 private constant REFUNDED = bytes20(uint160(2));
    /// A failed request's commitment is FAILED_BASE + status; every sentinel is at most MAX_SENTINEL.
    uint160 private constant FAILED_BASE = 0x100;
    uint160 private constant MAX_SENTINEL = 0x1ff;

    uint256 public constant MAX_INPUT_BYTES = 8 * 512;
    uint256 private constant CALLBACK_OVERHEAD = 10_000;

    bytes32 public immutable domain;
    CommitteeRegistry public immutable registry;
    ModelRegistry public immutable models;
    DelegatedStaking public immutable staking; // fee recipient: operators' commission and their delegators
    address public governance;
    uint256 public fee;
    uint16 public burnBps;
    uint64 public requestTimeout;
    uint32 public maxCallbackGas;
    uint256 public nonce;
    /// ETH owed to DelegatedStaking, which pulls it (collectFees) before any stake changes; fulfilment
    /// only adds to this counter, so it pays no ETH transfer and no staking storage writes.
    uint128 public stakerFees;
    /// ETH burned: the burn share of every fee stays in this contract for good (no function moves it).
    uint128 public totalBurned;
    mapping(bytes32 => Request) public requests;
    mapping(address => uint256) public refundCredit;
    /// Share of a failed request's fee kept as the processing fee (paid like an ordinary fee), in basis
    /// points; the rest is credited to the requester. Governance-set (setFailureFee), default 10%.
    uint16 public failureFeeBps = 1_000;

    constructor(bytes32 domain_, CommitteeRegistry registry_, ModelRegistry models_, address governance_, uint256 fee_, uint16 burnBps_, uint64 timeout_) {
        domain = domain_;
        registry = registry_;
        models = models_;
        staking = registry_.staking();
        governance = governance_;
        fee = fee_;
        burnBps = burnBps_;
        requestTimeout = timeout_;
        maxCallbackGas = 2_000_000;
    }

    function setParams(uint256 fee_, uint16 burnBps_, uint64 timeout_, uint32 maxCallbackGas_) external {
        if (msg.sender != governance) revert NotGovernance();
        (fee, burnBps, requestTimeout, maxCallbackGas) = (fee_, burnBps_ > 10_000 ? 10_000 : burnBps_, timeout_, maxCallbackGas_);
        emit ParamsChanged(fee_, burnBps, timeout_, maxCallbackGas_);
    }

    function setFailureFee(uint16 failureFeeBps_) external {
        if (msg.sender != governance) revert NotGovernance();
        failureFeeBps = failureFeeBps_ > 10_000 ? 10_000 : failureFeeBps_;
        emit FailureFeeChanged(failureFeeBps);
    }

    function setGovernance(address next) external {
        if (msg.sender != governance) revert NotGovernance();
        governance = next;
    }

    /// @param modelId ModelRegistry node (namehash of the model name)
    /// @param input canonical input bytes (int64 big-endian fixed point, manifest order)
    function request(bytes32 modelId, bytes calldata input, uint32 callbackGasLimit) external payable returns (bytes32 requestId) {
        if (msg.value < fee) revert FeeTooLow(msg.value, fee);
        if (input.length == 0 || input.length > MAX_INPUT_BYTES || input.length % 8 != 0) revert InputTooLarge(input.length, MAX_INPUT_BYTES);
        if (callbackGasLimit > maxCallbackGas) revert CallbackGasTooHigh(callbackGasLimit, maxCallbackGas);
        bytes32 modelHash = models.modelHashOf(modelId);
        requestId = keccak256(abi.encode(block.chainid, address(this), msg.sender, nonce++));
        uint64 deadline = uint64(block.timestamp) + requestTimeout;
        if (msg.value > type(uint88).max) revert FeeTooLow(msg.value, fee);
        requests[requestId] = Request(msg.sender, callbackGasLimit, deadline, _commitment(modelHash, keccak256(input)), uint88(msg.value), callbackGasLimit != 0);
        emit InferenceRequested(requestId, msg.sender, modelId, modelHash, input, callbackGasLimit, msg.value, deadline);
    }

    /// @notice Fulfils one request with a report signed (as a one-leaf batch) by the committee of the
    ///         epoch it names: the current one, or the previous one within the handover grace window
    ///         (CommitteeRegistry.reportKey; a retired epoch reverts EpochRetired).
    /// @param signature committee signature, G1 in EIP-2537 encoding (128 bytes)
    function fulfill(bytes calldata report, bytes calldata signature) external nonReentrant {
        uint64 epoch = uint64(bytes8(report[34:42]));
        _checkHeader(report, epoch);
        _verify(epoch, ReportLib.leaf(report), signature);
        _payFees(_settle(report, true));
    }

    /// @notice Fulfils many requests with one signature over a Merkle root. With `proofs` empty the
    ///         reports must be the whole batch in order and the root is rebuilt from them (no proof
    ///         calldata); otherwise each report carries its inclusion proof. Reports already fulfilled (by
    ///         another aggregator) are skipped, so racing relayers never waste the whole batch.
    function fulfillBatch(bytes32 root, bytes calldata signature, bytes[] calldata reports, bytes32[][] calldata proofs) external nonReentrant {
        uint256 count = reports.length;
        bool complete = proofs.length == 0;
        if (count == 0 || (!complete && proofs.length != count)) revert LengthMismatch();
        uint64 epoch = uint64(bytes8(reports[0][34:42])); // one signature, so one epoch for the batch
        bytes32[] memory leaves = new bytes32[](complete ? count : 0);
        for (uint256 i = 0; i < count; i++) {
            _checkHeader(reports[i], epoch);
            bytes32 leaf = ReportLib.leaf(reports[i]);
            if (complete) leaves[i] = leaf;
            else if (ReportLib.rootFromProof(leaf, proofs[i]) != root) revert ReportLib.MerkleProofInvalid();
        }
        if (complete && ReportLib.rootOf(leaves) != root) revert ReportLib.MerkleProofInvalid();
        _verify(epoch, root, signature);
        uint256 fees;
        for (uint256 i = 0; i < count; i++) fees += _settle(reports[i], false);
        _payFees(fees);
    }

    /// @notice Refunds a request nobody answered before its deadline.
    function refund(bytes32 requestId) external nonReentrant {
        Request storage r = requests[requestId];
        if (r.commitment == 0) revert UnknownRequest(requestId);
        if (uint160(r.commitment) <= MAX_SENTINEL) revert AlreadyFulfilled(requestId);
        if (block.timestamp <= r.deadline) revert NotExpired(r.deadline);
        uint256 amount = r.fee;
        address to = r.requester;
        r.commitment = REFUNDED;
        r.fee = 0;
        // A requester contract that cannot receive ETH gets a credit it can withdraw instead.
        (bool ok,) = to.call{value: amount, gas: 50_000}("");
        if (!ok) refundCredit[to] += amount;
        emit RequestRefunded(requestId, amount);
    }

    /// @notice Withdraws refunds that could not be pushed to the requester.
    function withdrawRefund(address payable to) external nonReentrant {
        uint256 amount = refundCredit[msg.sender];
        if (amount == 0) revert UnknownRequest(bytes32(0));
        refundCredit[msg.sender] = 0;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// @notice Verifies a signed report of any kind (e.g. an on-demand report from a node's HTTP API)
    ///         against the key of the epoch it names. `proof` may be empty (root = leaf). Returns false for
    ///         a wrong domain, destination, proof or signature; reverts EpochRetired when the report's
    ///         epoch is retired past the handover grace window (UnknownEpoch for an epoch never installed).
    function verifyReport(bytes calldata report, bytes calldata signature, bytes32[] calldata proof, bytes32 root) external view returns (bool) {
        ReportLib.Header memory h = ReportLib.parse(report);
        if (h.domain != domain) return false;
        if (h.destChainType == ReportLib.CHAIN_EVM && (uint256(h.destChainId) != block.chainid)) return false;
        if (h.destChainType == ReportLib.CHAIN_SVM) return false;
        bytes32 computed = ReportLib.rootFromProof(ReportLib.leaf(report), proof);
        if (proof.length > 0 && computed != root) return false;
        bytes memory key = registry.reportKey(h.epoch);
        return BLS.verify(key, ReportLib.signingMessage(ReportLib.PURPOSE_ROOT, computed), signature, BLS.DESTRA_DST);
    }

    /// @notice Sends the stakers' accrued fees to DelegatedStaking (which distributes them).
    function collectFees() external nonReentrant returns (uint256 amount) {
        if (msg.sender != address(staking)) revert NotStaking();
        amount = stakerFees;
        if (amount == 0) return 0;
        stakerFees = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
        emit FeesCollected(amount);
    }

    /// @notice True once a signed report settled the request: an answer, or a failure report.
    function isFulfilled(bytes32 requestId) external view returns (bool) {
        uint160 c = uint160(requests[requestId].commitment);
        return c == uint160(FULFILLED) || (c > FAILED_BASE && c <= MAX_SENTINEL);
    }

    /// @notice The status of the failure report that closed the request; 0 when it did not fail.
    function failureStatus(bytes32 requestId) external view returns (uint8) {
        uint160 c = uint160(requests[requestId].commitment);
        return c > FAILED_BASE && c <= MAX_SENTINEL ? uint8(c - FAILED_BASE) : 0;
    }

    /// Structural checks, destination, and the batch's epoch; field reads are straight from calldata.
    /// Whether that epoch's key is accepted now is the registry's check when the key is fetched.
    function _checkHeader(bytes calldata r, uint64 epoch) private view {
        uint256 len = r.length;
        if (len < ReportLib.HEADER_LENGTH || len > ReportLib.HEADER_LENGTH + 8 * ReportLib.MAX_OUTPUTS) revert ReportLib.ReportMalformed("length");
        if (uint8(r[0]) != ReportLib.VERSION) revert ReportLib.ReportMalformed("version");
        if (uint8(r[1]) != ReportLib.KIND_REQUEST) revert WrongKind(uint8(r[1]));
        if (bytes32(r[2:34]) != domain) revert WrongDomain();
        if (uint8(r[42]) != ReportLib.CHAIN_EVM || uint256(bytes32(r[43:75])) != block.chainid) revert WrongChain();
        if (bytes32(r[75:107]) != bytes32(uint256(uint160(address(this))))) revert WrongContract();
        uint64 reportEpoch = uint64(bytes8(r[34:42]));
        if (reportEpoch != epoch) revert WrongEpoch(reportEpoch, epoch);
        uint256 statusAndCount = uint24(bytes3(r[219:222])); // status (1 byte) ‖ outputCount (2 bytes)
        uint256 count = statusAndCount & 0xffff;
        if (statusAndCount >> 16 > ReportLib.MAX_STATUS) revert ReportLib.ReportMalformed("status");
        // an answer carries 1..64 outputs, a failure none; the length must match the count exactly
        if ((statusAndCount >> 16 == 0) == (count == 0) || count * 8 + ReportLib.HEADER_LENGTH != len) revert ReportLib.ReportMalformed("outputCount");
    }

    function _commitment(bytes32 modelHash, bytes32 inputHash_) private pure returns (bytes20) {
        return bytes20(keccak256(abi.encodePacked(modelHash, inputHash_)));
    }

    function _verify(uint64 epoch, bytes32 digest, bytes calldata signature) private view {
        bytes memory key = registry.reportKey(epoch);
        if (!BLS.verify(key, ReportLib.signingMessage(ReportLib.PURPOSE_ROOT, digest), signature, BLS.DESTRA_DST)) revert BadSignature();
    }

    /// @return the fee to distribute (0 when skipped)
    function _settle(bytes calldata report, bool strict) private returns (uint256) {
        bytes32 id = bytes32(report[107:139]);
        Request storage r = requests[id];
        bytes20 commitment = r.commitment;
        if (uint160(commitment) <= MAX_SENTINEL) {
            if (!strict) return 0;
            if (commitment == 0) revert UnknownRequest(id);
            revert AlreadyFulfilled(id);
        }
        if (commitment != _commitment(bytes32(report[139:171]), bytes32(report[171:203]))) {
            if (!strict) return 0;
            revert InputMismatch(id);
        }
        uint256 paid = r.fee;
        uint8 status = uint8(report[ReportLib.STATUS_OFFSET]);
        if (status != ReportLib.STATUS_OK) return _fail(r, id, status, paid);
        bool callback = r.hasCallback;
        r.commitment = FULFILLED; // settled before the consumer runs (checks-effects-interactions)
        r.fee = 0;
        bool ok = true;
        if (callback) ok = _callback(r.requester, r.callbackGasLimit, id, report);
        emit RequestFulfilled(id, ok);
        return paid;
    }

    /// A failure report closes the request without a callback: the processing fee (failureFeeBps of the
    /// fee) is paid out like an ordinary fee, the rest credited to the requester (pull: withdrawRefund,
    /// so the relayer never runs the requester's code).
    /// @return kept the processing fee to distribute
    function _fail(Request storage r, bytes32 id, uint8 status, uint256 paid) private returns (uint256 kept) {
        kept = (paid * failureFeeBps) / 10_000;
        r.commitment = bytes20(FAILED_BASE + status);
        r.fee = 0;
        if (paid > kept) refundCredit[r.requester] += paid - kept;
        emit RequestFailed(id, status);
    }

    /// The callback gets exactly its limit: we require enough gas so that 63/64 forwarding cannot starve
    /// it (else the relayer retries with more gas), and copy no return data (no return bomb).
    function _callback(address consumer, uint32 gasLimit, bytes32 id, bytes calldata report) private returns (bool ok) {
        if (consumer.code.length == 0) return true;
        uint16 count = uint16(bytes2(report[220:222]));
        bytes memory data = abi.encodeCall(IDestraConsumer.onInferenceResult, (id, ReportLib.outputs(report, count), report));
        uint256 needed = (uint256(gasLimit) * 64) / 63 + CALLBACK_OVERHEAD;
        if (gasleft() < needed) revert InsufficientGasForCallback(gasleft(), needed);
        assembly ("memory-safe") {
            ok := call(gasLimit, consumer, 0, add(data, 32), mload(data), 0, 0)
        }
    }

    /// Splits settled fees: `burnBps` burned (kept here forever), the rest owed to the stakers. One
    /// storage slot, no external call: the stakers' share is pulled by DelegatedStaking.
    function _payFees(uint256 amount) private {
        if (amount == 0) return;
        uint256 burn = (amount * burnBps) / 10_000;
        (stakerFees, totalBurned) = (stakerFees + uint128(amount - burn), totalBurned + uint128(burn));
        if (burn > 0) emit FeeBurned(burn);
    }
}
