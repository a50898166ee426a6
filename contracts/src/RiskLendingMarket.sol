// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDestraConsumer} from "./IDestraConsumer.sol";
import {OracleRouter} from "./OracleRouter.sol";
import {ModelRegistry} from "./ModelRegistry.sol";

/// @title Example consumer: a lending market whose collateral factor per borrower follows an oracle
///        risk score (probability of liquidation; 100% is the model's output scale).
/// @notice The scale is read from the ModelRegistry entry of the model at each answer, never hard-coded:
///         the registry's scale is the model manifest's (docs/models.md), so a manifest signing at 1e4 and
///         a consumer reading at 1e6 cannot disagree.
///         Paying for a request: the router burns the model's DSYNC from its caller, this market. The
///         market approved the router once (unlimited) and pulls the burn from the borrower per request
///         (the borrower approves the market, or signs a permit for it: requestRiskScoreWithPermit); the
///         borrower sends the ETH (`quote()`). The unused part of the callback gas prepayment comes back
///         to the borrower through claimRefund(id); so does an expired request.
contract RiskLendingMarket is IDestraConsumer {
    using SafeERC20 for IERC20;

    error OnlyRouter();
    error UnknownRequest(bytes32 id);
    error EmptyOutput();
    error NotBorrower(bytes32 id);
    error TransferFailed();

    event RiskScoreRequested(bytes32 indexed requestId, address indexed borrower);
    event CollateralFactorSet(address indexed borrower, uint16 factorBps, int64 riskScore);

    uint16 public constant MAX_FACTOR_BPS = 8_500;
    uint16 public constant MIN_FACTOR_BPS = 2_000;

    OracleRouter public immutable router;
    IERC20 public immutable dsync;
    bytes32 public immutable riskModel;
    uint32 public callbackGas = 150_000;
    /// The borrower who asked (kept after the answer: it may claim the unused gas prepayment).
    mapping(bytes32 => address) public borrowerOf;
    mapping(address => uint16) public collateralFactorBps;
    mapping(address => int64) public lastRiskScore;
    bool private transient claiming;

    constructor(OracleRouter router_, bytes32 riskModel_) {
        router = router_;
        riskModel = riskModel_;
        dsync = IERC20(address(router_.token()));
        dsync.forceApprove(address(router_), type(uint256).max); // the router burns the per-request DSYNC from here
    }

    /// @notice ETH to send with a request (model fee + callback gas prepayment) and DSYNC the market
    ///         pulls from the borrower for the burn.
    function quote() external view returns (uint256 value, uint256 burn) {
        return router.quote(riskModel, callbackGas);
    }

    /// @param input canonical model input (the borrower's features, int64 fixed point)
    function requestRiskScore(bytes calldata input) external payable returns (bytes32 id) {
        return _requestRiskScore(input);
    }

    /// @notice requestRiskScore with an ERC-2612 permit (owner the borrower, spender this market) instead
    ///         of a prior approval. A permit already used is ignored if the allowance is there.
    function requestRiskScoreWithPermit(bytes calldata input, uint256 permitValue, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        payable
        returns (bytes32 id)
    {
        try IERC20Permit(address(dsync)).permit(msg.sender, address(this), permitValue, deadline, v, r, s) {} catch {}
        return _requestRiskScore(input);
    }

    function _requestRiskScore(bytes calldata input) private returns (bytes32 id) {
        (, uint256 burn) = ModelRegistry(router.models()).feesOf(riskModel);
        if (burn != 0) dsync.safeTransferFrom(msg.sender, address(this), burn);
        id = router.request{value: msg.value}(riskModel, input, callbackGas);
        borrowerOf[id] = msg.sender;
        emit RiskScoreRequested(id, msg.sender);
    }

    /// @notice Pays the borrower what the router holds for its request: the unused callback gas
    ///         prepayment after the answer, or everything after the deadline if nobody answered.
    function claimRefund(bytes32 id) external returns (uint256 amount) {
        if (borrowerOf[id] != msg.sender || msg.sender == address(0)) revert NotBorrower(id);
        uint256 before = address(this).balance;
        claiming = true;
        router.refund(id);
        claiming = false;
        amount = address(this).balance - before;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// Only refunds this market claims for a borrower (others are credited by the router instead).
    receive() external payable {
        if (!claiming || msg.sender != address(router)) revert OnlyRouter();
    }

    /// @notice Fixed-point value of a 100% score: the risk model's registered output scale.
    function scoreScale() public view returns (uint256 scale) {
        scale = ModelRegistry(router.models()).outputScaleOf(riskModel);
    }

    function onInferenceResult(bytes32 requestId, int64[] calldata output, bytes calldata) external {
        if (msg.sender != address(router)) revert OnlyRouter();
        address borrower = borrowerOf[requestId];
        if (borrower == address(0)) revert UnknownRequest(requestId);
        if (output.length == 0) revert EmptyOutput();
        int64 score = output[0];
        uint256 scale = scoreScale();
        uint256 s = score <= 0 ? 0 : uint64(score) >= scale ? scale : uint64(score);
        uint16 factor = uint16(MAX_FACTOR_BPS - (uint256(MAX_FACTOR_BPS - MIN_FACTOR_BPS) * s) / scale);
        collateralFactorBps[borrower] = factor;
        lastRiskScore[borrower] = score;
        emit CollateralFactorSet(borrower, factor, score);
    }
}
