// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDestraConsumer} from "contracts/src/IDestraConsumer.sol";

/// What this consumer uses of the OracleRouter.
interface IRouter {
    function token() external view returns (address);
    function quote(bytes32 modelId, uint32 callbackGasLimit) external view returns (uint256 value, uint256 burn);
    function request(bytes32 modelId, bytes calldata input, uint32 callbackGasLimit) external payable returns (bytes32 requestId);
}

interface IApprove {
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @notice Asks the network for a liquidation-risk score and keeps each answer. The router calls
///         onInferenceResult only after it verified the committee's BLS threshold signature.
///         The router burns the model's DSYNC from this contract at each request: send it some DSYNC.
contract RiskConsumer is IDestraConsumer {
    IRouter public immutable router;
    bytes32 public immutable model;
    uint32 public constant CALLBACK_GAS = 100_000;

    mapping(bytes32 => bool) public answered;
    mapping(bytes32 => int64) public scoreOf;

    event Asked(bytes32 indexed requestId);
    event Scored(bytes32 indexed requestId, int64 score);

    constructor(IRouter router_, bytes32 model_) {
        router = router_;
        model = model_;
        IApprove(router_.token()).approve(address(router_), type(uint256).max);
    }

    /// @notice ETH to send with ask(): the model's fee plus the callback gas prepayment.
    function quote() external view returns (uint256 value) {
        (value,) = router.quote(model, CALLBACK_GAS);
    }

    function ask(bytes calldata input) external payable returns (bytes32 requestId) {
        requestId = router.request{value: msg.value}(model, input, CALLBACK_GAS);
        emit Asked(requestId);
    }

    function onInferenceResult(bytes32 requestId, int64[] calldata output, bytes calldata) external {
        require(msg.sender == address(router), "only the router");
        answered[requestId] = true;
        scoreOf[requestId] = output[0];
        emit Scored(requestId, output[0]);
    }
}
