// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title What consumers and relayers call on the Destra OracleRouter, with every error and event it can
///        emit (so a consumer's ABI decodes the router's reverts). OracleRouter implements it.
/// @notice Paying for a request: send `quote(modelId, callbackGasLimit).value` wei; the router burns the
///         model's DSYNC (`quote().burn`) from msg.sender with burnFrom, so approve the router on `token()`
///         first (or use requestWithPermit). Answers arrive as IDestraConsumer.onInferenceResult with at most
///         `callbackGasLimit` gas; see DestraConsumer for a base contract that does all of this.
interface IOracleRouter {
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
    error NotRequester(address caller, address requester);
    /// The request was answered and its callback gas prepayment is spent or already refunded.
    error NothingToRefund(bytes32 id);
    /// requestStates was asked for more ids than one call answers.
    error TooManyIds(uint256 count, uint256 max);
    /// Reverted by DSYNC's burnFrom when the requester has not approved the router for the model's burn
    /// (declared here so the router's ABI decodes it): approve `needed` or use requestWithPermit.
    error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    /// Reverted by DSYNC's burnFrom when the requester holds less DSYNC than the model's burn.
    error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);

    event InferenceRequested(
        bytes32 indexed requestId,
        address indexed requester,
        bytes32 indexed modelId,
        bytes32 modelHash,
        bytes input,
        uint32 callbackGasLimit,
        uint256 fee,
        uint64 deadline,
        uint64 seq
    );
    event RequestFulfilled(bytes32 indexed requestId, bool callbackSucceeded);
    event RequestRefunded(bytes32 indexed requestId, uint256 amount);
    /// A failure report closed the request (status: docs/report-format.md §1.1); the fee less the
    /// processing fee, and the whole callback gas prepayment, were credited to the requester (withdrawRefund).
    event RequestFailed(bytes32 indexed requestId, uint8 status);
    event FailureFeeChanged(uint16 failureFeeBps);
    event DsyncBurned(bytes32 indexed requestId, address indexed payer, uint256 amount);
    /// A callback's gas settled: `gasUsed` (measured + CALLBACK_GAS_OVERHEAD) paid to the relayer at
    /// min(tx.gasprice, prepaid price) = `reimbursed`; `refundable` is left to the requester.
    event CallbackGasSettled(bytes32 indexed requestId, address indexed relayer, uint256 gasUsed, uint256 reimbursed, uint256 refundable);
    event FeesCollected(uint256 amount);
    event ParamsChanged(uint64 timeout, uint32 maxCallbackGas, uint64 callbackGasPrice);

    /// @notice ETH to send (model fee + callback gas prepayment) and DSYNC burned from the caller.
    function quote(bytes32 modelId, uint32 callbackGasLimit) external view returns (uint256 value, uint256 burn);

    /// @param modelId ModelRegistry node (namehash of the model name)
    /// @param input canonical input bytes (int64 big-endian fixed point, manifest order), 8..4096 bytes
    /// @param callbackGasLimit gas for the caller's onInferenceResult; 0 for no callback
    function request(bytes32 modelId, bytes calldata input, uint32 callbackGasLimit) external payable returns (bytes32 requestId);

    /// @notice request() with an ERC-2612 DSYNC permit (owner msg.sender, spender the router).
    function requestWithPermit(
        bytes32 modelId,
        bytes calldata input,
        uint32 callbackGasLimit,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external payable returns (bytes32 requestId);

    /// @notice Relayers: one report signed (as a one-leaf batch) by the committee.
    function fulfill(bytes calldata report, bytes calldata signature) external;

    /// @notice Relayers: many reports under one signed Merkle root (`proofs` empty: the whole batch in order).
    function fulfillBatch(bytes32 root, bytes calldata signature, bytes[] calldata reports, bytes32[][] calldata proofs) external;

    /// @notice Refunds an expired unanswered request (anyone), or the unused callback gas prepayment of an
    ///         answered one (the requester only), to the requester.
    function refund(bytes32 requestId) external;

    /// @notice Withdraws refunds credited to msg.sender (failure reports, refunds it could not receive).
    function withdrawRefund(address payable to) external;

    /// @notice Checks a signed report of any kind (e.g. an on-demand report from a node) against the
    ///         committee key of the epoch it names; `proof` may be empty (root = leaf).
    function verifyReport(bytes calldata report, bytes calldata signature, bytes32[] calldata proof, bytes32 root) external view returns (bool);

    /// @notice Per id: still open (neither settled nor unknown), deadline and callback gas limit; at
    /// most MAX_STATES_PER_CALL ids.
    function requestStates(bytes32[] calldata ids)
        external
        view
        returns (bool[] memory open, uint64[] memory deadlines, uint32[] memory callbackGasLimits);

    /// @notice True once a signed report settled the request (an answer or a failure report).
    function isFulfilled(bytes32 requestId) external view returns (bool);

    /// @notice Status of the failure report that closed the request; 0 when it did not fail.
    function failureStatus(bytes32 requestId) external view returns (uint8);

    /// @notice The DSYNC token burned per request.
    function token() external view returns (IERC20);

    /// @notice Upper bound of a request's callbackGasLimit.
    function maxCallbackGas() external view returns (uint32);

    /// @notice Refunds credited to `account` (withdrawRefund pays them).
    function refundCredit(address account) external view returns (uint256);
}
