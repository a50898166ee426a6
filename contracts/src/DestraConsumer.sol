// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDestraConsumer} from "./IDestraConsumer.sol";
import {IOracleRouter} from "./IOracleRouter.sol";

/// @title Base contract for Destra consumers: requests with fees and the DSYNC burn handled, and a
///        callback that only the router can make, once, for a request this contract made.
/// @notice Inherit it, call `_requestInference` and implement `_onInferenceResult`:
///
///             contract Scores is DestraConsumer {
///                 constructor(IOracleRouter router) DestraConsumer(router) {}
///                 function ask(bytes calldata input) external payable returns (bytes32) {
///                     return _requestInference(MODEL, input, 100_000, msg.value, msg.sender);
///                 }
///                 function _onInferenceResult(bytes32 id, int64[] calldata output, bytes calldata) internal override { ... }
///             }
///
///         Fees: the router takes `quote().value` wei with the request (model fee + callback gas
///         prepayment) and burns `quote().burn` DSYNC from this contract, which approved the router once
///         (unlimited) at construction; the helper first pulls that DSYNC from the payer you name (the
///         payer approves this contract), or uses this contract's own DSYNC when the payer is itself.
///         Refunds (unused callback gas prepayment, expired requests) come back to this contract; forward
///         them as your product needs (`_claimRefund`, `_withdrawRefund`).
abstract contract DestraConsumer is IDestraConsumer {
    using SafeERC20 for IERC20;

    /// The callback came from someone other than the router.
    error OnlyRouter(address caller);
    /// The callback names a request this contract did not make, or one already answered.
    error UnexpectedRequest(bytes32 requestId);
    /// Less ETH offered than the router's quote (model fee + callback gas prepayment).
    error InsufficientFee(uint256 offered, uint256 required);

    event InferenceRequestSent(bytes32 indexed requestId, bytes32 indexed modelId, address indexed dsyncPayer, uint256 value, uint256 burn);

    IOracleRouter public immutable destraRouter;
    IERC20 public immutable dsync;
    /// Requests sent and not answered yet: the callback guard. A request closed by a failure report or
    /// refunded after its deadline gets no callback and stays listed (check `destraRouter.isFulfilled`).
    mapping(bytes32 => bool) public pendingRequest;

    constructor(IOracleRouter router_) {
        destraRouter = router_;
        dsync = router_.token();
        dsync.forceApprove(address(router_), type(uint256).max); // the router burns each request's DSYNC from here
    }

    /// @notice What a request costs now: `value` wei and `burn` DSYNC base units.
    function _quoteInference(bytes32 modelId, uint32 callbackGasLimit) internal view returns (uint256 value, uint256 burn) {
        return destraRouter.quote(modelId, callbackGasLimit);
    }

    /// @notice Sends a request with `value` wei (at least the quote; more is a tip to the stakers) from
    ///         this contract's balance, pulling the model's DSYNC burn from `dsyncPayer` first (unless it is
    ///         this contract). The answer arrives in `_onInferenceResult`.
    /// @param input canonical input bytes (int64 big-endian fixed point, manifest order)
    /// @param callbackGasLimit gas for `_onInferenceResult` (plus this contract's small guard)
    function _requestInference(bytes32 modelId, bytes memory input, uint32 callbackGasLimit, uint256 value, address dsyncPayer)
        internal
        returns (bytes32 requestId)
    {
        (uint256 required, uint256 burn) = destraRouter.quote(modelId, callbackGasLimit);
        if (value < required) revert InsufficientFee(value, required);
        if (burn != 0 && dsyncPayer != address(this)) dsync.safeTransferFrom(dsyncPayer, address(this), burn);
        requestId = destraRouter.request{value: value}(modelId, input, callbackGasLimit);
        pendingRequest[requestId] = true;
        emit InferenceRequestSent(requestId, modelId, dsyncPayer, value, burn);
    }

    /// @inheritdoc IDestraConsumer
    function onInferenceResult(bytes32 requestId, int64[] calldata output, bytes calldata report) external {
        if (msg.sender != address(destraRouter)) revert OnlyRouter(msg.sender);
        if (!pendingRequest[requestId]) revert UnexpectedRequest(requestId);
        delete pendingRequest[requestId]; // before the hook: a re-entered callback for the same id fails
        _onInferenceResult(requestId, output, report);
    }

    /// @notice The verified answer to a request this contract made (the router checked the committee's
    ///         signature, the model and the input before calling). Keep it within the callback gas limit;
    ///         a revert here is recorded by the router (RequestFulfilled with callbackSucceeded = false)
    ///         and the answer is not delivered again.
    function _onInferenceResult(bytes32 requestId, int64[] calldata output, bytes calldata report) internal virtual;

    /// @notice Pulls the router's refund for `requestId` to this contract: the unused callback gas
    ///         prepayment after the answer, or everything after the deadline if nobody answered.
    function _claimRefund(bytes32 requestId) internal returns (uint256 amount) {
        uint256 before = address(this).balance;
        destraRouter.refund(requestId);
        amount = address(this).balance - before;
    }

    /// @notice Withdraws what the router credited to this contract (failure reports' refunds) to `to`.
    function _withdrawRefund(address payable to) internal {
        destraRouter.withdrawRefund(to);
    }

    /// Refunds from the router arrive here; anything else sending ETH is refused.
    receive() external payable virtual {
        if (msg.sender != address(destraRouter)) revert OnlyRouter(msg.sender);
    }
}
