// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDestraConsumer} from "./IDestraConsumer.sol";
import {OracleRouter} from "./OracleRouter.sol";
import {ModelRegistry} from "./ModelRegistry.sol";

/// @title Example consumer: a lending market whose collateral factor per borrower follows an oracle
///        risk score (probability of liquidation; 100% is the model's output scale).
/// @notice The scale is read from the ModelRegistry entry of the model at each answer, never hard-coded:
///         the registry's scale is the model manifest's (docs/models.md), so a manifest signing at 1e4 and
///         a consumer reading at 1e6 cannot disagree.
contract RiskLendingMarket is IDestraConsumer {
    error OnlyRouter();
    error UnknownRequest(bytes32 id);
    error EmptyOutput();

    event RiskScoreRequested(bytes32 indexed requestId, address indexed borrower);
    event CollateralFactorSet(address indexed borrower, uint16 factorBps, int64 riskScore);

    uint16 public constant MAX_FACTOR_BPS = 8_500;
    uint16 public constant MIN_FACTOR_BPS = 2_000;

    OracleRouter public immutable router;
    bytes32 public immutable riskModel;
    uint32 public callbackGas = 150_000;
    mapping(bytes32 => address) public borrowerOf;
    mapping(address => uint16) public collateralFactorBps;
    mapping(address => int64) public lastRiskScore;

    constructor(OracleRouter router_, bytes32 riskModel_) {
        router = router_;
        riskModel = riskModel_;
    }

    /// @param input canonical model input (the borrower's features, int64 fixed point)
    function requestRiskScore(bytes calldata input) external payable returns (bytes32 id) {
        id = router.request{value: msg.value}(riskModel, input, callbackGas);
        borrowerOf[id] = msg.sender;
        emit RiskScoreRequested(id, msg.sender);
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
        delete borrowerOf[requestId];
        emit CollateralFactorSet(borrower, factor, score);
    }
}
