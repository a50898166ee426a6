// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {BLS} from "./BLS.sol";
import {ReportLib} from "./ReportLib.sol";
import {CommitteeRegistry} from "./CommitteeRegistry.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {DelegatedStaking} from "./DelegatedStaking.sol";
import {IDestraConsumer} from "./IDestraConsumer.sol";
import {IOracleRouter} from "./IOracleRouter.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Inference requests with ETH fees and DSYNC burns, fulfilled by committee-signed reports verified on chain.
/// @notice request() charges the model's prices from the ModelRegistry: it burns the model's DSYNC amount
///         from the caller (ERC20Burnable.burnFrom: approve this router first, or use requestWithPermit)
///         and escrows the ETH fee plus, for a callback, a gas prepayment of
///         (callbackGasLimit + CALLBACK_GAS_OVERHEAD) × callbackGasPrice (a governance-set price bound).
///         Nodes answer with a report signed by the committee (threshold BLS, verified with EIP-2537);
///         fulfill()/fulfillBatch() verify it, owe the whole ETH fee to DSYNC stakers (DelegatedStaking
///         pulls it: operator commission, then delegators), call the consumer back with a bounded gas
///         limit, pay the relayer (msg.sender) for the gas the callback used at min(tx.gasprice, the
///         price prepaid), and leave the rest of the prepayment to the requester (refund(id)). A failing
///         callback never blocks fulfilment. Unanswered requests are refundable in full.
contract OracleRouter is ReentrancyGuard, IOracleRouter {
    /// Two slots per request. `commitment` binds the model and input while pending, then becomes a
    /// sentinel (FULFILLED / REFUNDED): rewriting one warm non-zero slot is the cheapest replay guard.
    struct Request {
        address requester; // 20 bytes
        uint32 callbackGasLimit;
        uint64 deadline;
        bytes20 commitment; // first 20 bytes of keccak256(modelHash, inputHash)
        uint88 fee; // ETH escrowed (fee + gas prepayment); after fulfilment: the requester's unused prepayment
        bool hasCallback; // lets fulfilment skip the first slot entirely for callback-free requests
    }

    bytes20 private constant FULFILLED = bytes20(uint160(1));
    bytes20 private constant REFUNDED = bytes20(uint160(2));
    /// A failed request's commitment is FAILED_BASE + status; every sentinel is at most MAX_SENTINEL.
    uint160 private constant FAILED_BASE = 0x100;
    uint160 private constant MAX_SENTINEL = 0x1ff;

    uint256 public constant MAX_INPUT_BYTES = 8 * 512;
    /// requestStates answers at most this many ids per call (about 19M gas of cold storage reads: under the usual 50M eth_call cap).
    uint256 public constant MAX_STATES_PER_CALL = 4096;
    uint256 private constant CALLBACK_OVERHEAD = 10_000;
    /// Gas a relayer spends on a callback beyond what is measured around the call (the call itself, the
    /// measurement, the settlement writes and event, its share of the reimbursement transfer); measured by
    /// the gas bench (contracts/bench/gas.ts) and reimbursed with the measured gas.
    uint256 public constant CALLBACK_GAS_OVERHEAD = 13_000;
    /// Gas kept in reserve for the relayer's reimbursement whenever a priced callback was settled, even
    /// when the amount is 0: eth_estimateGas runs at gas price 0 (no transfer), so without the reserve a
    /// tight estimate would run out of gas at a real price.
    uint256 private constant RELAYER_PAYMENT_GAS = 40_000;

    bytes32 public immutable domain;
    CommitteeRegistry public immutable registry;
    ModelRegistry public immutable models;
    DelegatedStaking public immutable staking; // fee recipient: operators' commission and their delegators
    IERC20 public immutable token; // DSYNC, burned per request (ERC20Burnable)
    address public governance;
    uint64 public requestTimeout;
    uint32 public maxCallbackGas;
    /// Price bound (wei per gas) of the callback gas prepayment: a requester prepays
    /// (callbackGasLimit + CALLBACK_GAS_OVERHEAD) × callbackGasPrice; the relayer is reimbursed at
    /// min(tx.gasprice, that price).
    uint64 public callbackGasPrice;
    /// Requests made so far = the sequence number the next request gets. Request `seq` is the request
    /// stream's position (consecutive from 0 per router, in the order requests execute): nodes sign
    /// consecutive ranges of it under one root (docs/ethereum.md, "Request stream").
    uint256 public nonce;
    /// ETH owed to DelegatedStaking, which pulls it (collectFees) before any stake changes; fulfilment
    /// only adds to this counter, so it pays no ETH transfer and no staking storage writes.
    uint128 public stakerFees;
    mapping(bytes32 => Request) public requests;
    mapping(address => uint256) public refundCredit;
    /// Share of a failed request's fee kept as the processing fee (paid like an ordinary fee), in basis
    /// points; the rest is credited to the requester. Governance-set (setFailureFee), default 10%.
    uint16 public failureFeeBps = 1_000;
    /// Gas price prepaid per callback request (set only for requests with a callback and a price).
    mapping(bytes32 => uint256) public callbackGasPriceOf;

    constructor(bytes32 domain_, CommitteeRegistry registry_, ModelRegistry models_, address governance_, uint64 timeout_, uint64 callbackGasPrice_) {
        domain = domain_;
        registry = registry_;
        models = models_;
        staking = registry_.staking();
        token = IERC20(address(staking.token()));
        governance = governance_;
        requestTimeout = timeout_;
        maxCallbackGas = 2_000_000;
        callbackGasPrice = callbackGasPrice_;
    }

    /// @notice Governance: request timeout, callback gas limit cap, and the callback gas price bound.
    ///         Per-model prices (ETH fee, DSYNC burn) live in ModelRegistry.setModelFees.
    function setParams(uint64 timeout_, uint32 maxCallbackGas_, uint64 callbackGasPrice_) external {
        if (msg.sender != governance) revert NotGovernance();
        (requestTimeout, maxCallbackGas, callbackGasPrice) = (timeout_, maxCallbackGas_, callbackGasPrice_);
        emit ParamsChanged(timeout_, maxCallbackGas_, callbackGasPrice_);
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

    /// @notice What a request costs now: `value` (wei: the model's fee + the callback gas prepayment) to
    ///         send, and `burn` (DSYNC base units) the router burns from the caller.
    function quote(bytes32 modelId, uint32 callbackGasLimit) external view returns (uint256 value, uint256 burn) {
        uint256 modelFee;
        (, modelFee, burn) = models.requestTerms(modelId);
        value = modelFee + _prepay(callbackGasLimit, callbackGasPrice);
    }

    /// @notice Requests an inference. Send `quote().value` wei (more is a tip to the stakers); the model's
    ///         DSYNC burn is burned from msg.sender (approve this router for it first).
    /// @param modelId ModelRegistry node (namehash of the model name)
    /// @param input canonical input bytes (int64 big-endian fixed point, manifest order)
    function request(bytes32 modelId, bytes calldata input, uint32 callbackGasLimit) external payable returns (bytes32 requestId) {
        return _request(modelId, input, callbackGasLimit);
    }

    /// @notice request() with an ERC-2612 DSYNC permit (owner msg.sender, spender this router, value
    ///         `permitValue` ≥ the model's burn) instead of a prior approval: one transaction. A permit
    ///         already used (e.g. front-run) is ignored if the allowance is there.
    function requestWithPermit(
        bytes32 modelId,
        bytes calldata input,
        uint32 callbackGasLimit,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external payable returns (bytes32 requestId) {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), permitValue, permitDeadline, v, r, s) {} catch {}
        return _request(modelId, input, callbackGasLimit);
    }

    function _request(bytes32 modelId, bytes calldata input, uint32 callbackGasLimit) private returns (bytes32 requestId) {
        if (input.length == 0 || input.length > MAX_INPUT_BYTES || input.length % 8 != 0) revert InputTooLarge(input.length, MAX_INPUT_BYTES);
        if (callbackGasLimit > maxCallbackGas) revert CallbackGasTooHigh(callbackGasLimit, maxCallbackGas);
        (bytes32 modelHash, uint256 modelFee, uint256 burn) = models.requestTerms(modelId);
        uint256 price = callbackGasLimit == 0 ? 0 : callbackGasPrice;
        uint256 prepay = _prepay(callbackGasLimit, price);
        if (msg.value < modelFee + prepay) revert FeeTooLow(msg.value, modelFee + prepay);
        if (msg.value > type(uint88).max) revert FeeTooLow(msg.value, modelFee + prepay);
        uint256 seq = nonce++;
        requestId = keccak256(abi.encode(block.chainid, address(this), msg.sender, seq));
        uint64 deadline = uint64(block.timestamp) + requestTimeout;
        requests[requestId] = Request(msg.sender, callbackGasLimit, deadline, _commitment(modelHash, keccak256(input)), uint88(msg.value), callbackGasLimit != 0);
        if (prepay != 0) callbackGasPriceOf[requestId] = price;
        if (burn != 0) {
            ERC20Burnable(address(token)).burnFrom(msg.sender, burn); // DSYNC's totalSupply falls now
            emit DsyncBurned(requestId, msg.sender, burn);
        }
        emit InferenceRequested(requestId, msg.sender, modelId, modelHash, input, callbackGasLimit, msg.value - prepay, deadline, uint64(seq));
    }

    /// @notice Fulfils one request with a report signed (as a one-leaf batch) by the committee of the
    ///         epoch it names: the current one, or the previous one within the handover grace window
    ///         (CommitteeRegistry.reportKey; a retired epoch reverts EpochRetired).
    /// @param signature committee signature, G1 in EIP-2537 encoding (128 bytes)
    function fulfill(bytes calldata report, bytes calldata signature) external nonReentrant {
        uint64 epoch = uint64(bytes8(report[34:42]));
        _checkHeader(report, epoch);
        _verify(epoch, ReportLib.leaf(report), signature);
        (uint256 fees, uint256 gasPay, bool priced) = _settle(report, true);
        _payFees(fees);
        if (priced) _payRelayer(gasPay);
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
        uint256 gasPay;
        bool priced;
        for (uint256 i = 0; i < count; i++) {
            (uint256 f, uint256 g, bool p) = _settle(reports[i], false);
            (fees, gasPay, priced) = (fees + f, gasPay + g, priced || p);
        }
        _payFees(fees);
        if (priced) _payRelayer(gasPay);
    }

    /// @notice Refunds a request nobody answered before its deadline (fee and gas prepayment; anyone may
    ///         trigger it), or, after fulfilment, the unused part of its callback gas prepayment (only the
    ///         requester pulls it). The DSYNC burned at request time is not refunded.
    function refund(bytes32 requestId) external nonReentrant {
        Request storage r = requests[requestId];
        bytes20 c = r.commitment;
        if (c == 0) revert UnknownRequest(requestId);
        uint256 amount = r.fee;
        address to = r.requester;
        if (c == FULFILLED) {
            if (msg.sender != to) revert NotRequester(msg.sender, to);
            if (amount == 0) revert NothingToRefund(requestId);
        } else {
            // refunded, or closed by a failure report (whose refund was credited at once)
            if (uint160(c) <= MAX_SENTINEL) revert AlreadyFulfilled(requestId);
            if (block.timestamp <= r.deadline) revert NotExpired(r.deadline);
            r.commitment = REFUNDED;
            delete callbackGasPriceOf[requestId];
        }
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

    /// @notice What a relayer needs of each request of a range, in one call instead of one `requests(id)`
    /// read per report: whether it is still open (neither settled nor unknown), its deadline and its
    /// callback gas limit. At most MAX_STATES_PER_CALL ids per call (the relayer splits longer ranges).
    function requestStates(bytes32[] calldata ids)
        external
        view
        returns (bool[] memory open, uint64[] memory deadlines, uint32[] memory callbackGasLimits)
    {
        uint256 n = ids.length;
        if (n > MAX_STATES_PER_CALL) revert TooManyIds(n, MAX_STATES_PER_CALL);
        open = new bool[](n);
        deadlines = new uint64[](n);
        callbackGasLimits = new uint32[](n);
        for (uint256 i; i < n; ++i) {
            Request storage r = requests[ids[i]];
            open[i] = uint160(r.commitment) > MAX_SENTINEL;
            deadlines[i] = r.deadline;
            callbackGasLimits[i] = r.callbackGasLimit;
        }
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

    /// @return fee the fee to distribute (0 when skipped)
    /// @return gasPay what the relayer is owed for the callback's gas
    /// @return priced whether a callback with a gas prepayment was settled (the relayer gets paid)
    function _settle(bytes calldata report, bool strict) private returns (uint256 fee, uint256 gasPay, bool priced) {
        bytes32 id = bytes32(report[107:139]);
        Request storage r = requests[id];
        bytes20 commitment = r.commitment;
        if (uint160(commitment) <= MAX_SENTINEL) {
            if (!strict) return (0, 0, false);
            if (commitment == 0) revert UnknownRequest(id);
            revert AlreadyFulfilled(id);
        }
        if (commitment != _commitment(bytes32(report[139:171]), bytes32(report[171:203]))) {
            if (!strict) return (0, 0, false);
            revert InputMismatch(id);
        }
        fee = r.fee;
        uint8 status = uint8(report[ReportLib.STATUS_OFFSET]);
        if (status != ReportLib.STATUS_OK) return (_fail(r, id, status, fee), 0, false);
        bool callback = r.hasCallback;
        r.commitment = FULFILLED; // settled before the consumer runs (checks-effects-interactions)
        r.fee = 0;
        bool ok = true;
        if (callback) {
            uint32 limit = r.callbackGasLimit;
            uint256 price = callbackGasPriceOf[id];
            uint256 start = gasleft();
            ok = _callback(r.requester, limit, id, report);
            if (price != 0) {
                (fee, gasPay) = _settleGas(r, id, fee, limit, price, start - gasleft());
                priced = true;
            }
        }
        emit RequestFulfilled(id, ok);
    }

    /// Pays the relayer for the callback's gas out of the prepayment and leaves the rest to the requester.
    function _settleGas(Request storage r, bytes32 id, uint256 escrow, uint32 limit, uint256 price, uint256 measured)
        private
        returns (uint256 fee, uint256 gasPay)
    {
        uint256 prepay = _prepay(limit, price);
        uint256 used = measured + CALLBACK_GAS_OVERHEAD;
        if (used > uint256(limit) + CALLBACK_GAS_OVERHEAD) used = uint256(limit) + CALLBACK_GAS_OVERHEAD;
        gasPay = used * (tx.gasprice < price ? tx.gasprice : price);
        uint256 left = prepay - gasPay;
        delete callbackGasPriceOf[id];
        r.fee = uint88(left); // the requester pulls it with refund(id)
        emit CallbackGasSettled(id, msg.sender, used, gasPay, left);
        fee = escrow - prepay;
    }

    function _prepay(uint32 callbackGasLimit, uint256 price) private pure returns (uint256) {
        return callbackGasLimit == 0 ? 0 : (uint256(callbackGasLimit) + CALLBACK_GAS_OVERHEAD) * price;
    }

    /// A failure report closes the request without a callback: the processing fee (failureFeeBps of the
    /// model fee) is paid out like an ordinary fee; the rest, with the whole callback gas prepayment (no
    /// callback runs), is credited to the requester (pull: withdrawRefund, so the relayer never runs the
    /// requester's code).
    /// @param escrow what the request escrowed: the model fee plus any callback gas prepayment
    /// @return kept the processing fee to distribute
    function _fail(Request storage r, bytes32 id, uint8 status, uint256 escrow) private returns (uint256 kept) {
        uint256 price = callbackGasPriceOf[id];
        uint256 prepay = price == 0 ? 0 : _prepay(r.callbackGasLimit, price);
        if (price != 0) delete callbackGasPriceOf[id];
        kept = ((escrow - prepay) * failureFeeBps) / 10_000;
        r.commitment = bytes20(FAILED_BASE + status);
        r.fee = 0;
        if (escrow > kept) refundCredit[r.requester] += escrow - kept;
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

    /// Settled fees are owed to the stakers in full. One storage slot, no external call: DelegatedStaking
    /// pulls them.
    function _payFees(uint256 amount) private {
        if (amount == 0) return;
        stakerFees += uint128(amount);
    }

    /// Reimburses the relayer (msg.sender: the account that called fulfill/fulfillBatch and paid the gas,
    /// or the contract that relays for it) once per transaction; a relayer that cannot receive ETH gets a
    /// credit (withdrawRefund).
    function _payRelayer(uint256 amount) private {
        if (gasleft() < RELAYER_PAYMENT_GAS) revert InsufficientGasForCallback(gasleft(), RELAYER_PAYMENT_GAS);
        if (amount == 0) return;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) refundCredit[msg.sender] += amount;
    }
}
