// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DestraConsumer} from "contracts/src/DestraConsumer.sol";
import {IOracleRouter} from "contracts/src/IOracleRouter.sol";

/// @notice Asks the network for a liquidation-risk score and keeps each answer. DestraConsumer sends the
///         request with its fee and DSYNC burn, and lets only the router call back, once, for a request
///         this contract made; the router calls only after verifying the committee's BLS signature.
contract RiskConsumer is DestraConsumer {
    bytes32 public immutable model;
    uint32 public constant CALLBACK_GAS = 100_000;

    mapping(bytes32 => bool) public answered;
    mapping(bytes32 => int64) public scoreOf;

    event Scored(bytes32 indexed requestId, int64 score);

    constructor(IOracleRouter router_, bytes32 model_) DestraConsumer(router_) {
        model = model_;
    }

    /// @notice ETH to send with ask(): the model's fee plus the callback gas prepayment.
    function quote() external view returns (uint256 value) {
        (value,) = _quoteInference(model, CALLBACK_GAS);
    }

    /// @notice The caller pays the ETH; the model's DSYNC burn comes from this contract's own balance.
    function ask(bytes calldata input) external payable returns (bytes32) {
        return _requestInference(model, input, CALLBACK_GAS, msg.value, address(this));
    }

    function _onInferenceResult(bytes32 requestId, int64[] calldata output, bytes calldata) internal override {
        answered[requestId] = true;
        scoreOf[requestId] = output[0];
        emit Scored(requestId, output[0]);
    }
}
