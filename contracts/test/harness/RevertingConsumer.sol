// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDestraConsumer} from "../../src/IDestraConsumer.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// Test-only consumer whose callback always fails (or burns all its gas), to show fulfilment goes on.
contract RevertingConsumer is IDestraConsumer {
    OracleRouter public immutable router;
    bool public burnGas;

    constructor(OracleRouter router_, bool burnGas_) {
        router = router_;
        burnGas = burnGas_;
        IERC20(address(router_.token())).approve(address(router_), type(uint256).max); // pays the DSYNC burn from its own balance
    }

    receive() external payable {}

    function ask(bytes32 model, bytes calldata input, uint32 gasLimit) external payable returns (bytes32) {
        return router.request{value: msg.value}(model, input, gasLimit);
    }

    /// Pulls the unused callback gas prepayment (or an expired request's escrow) back here.
    function claimRefund(bytes32 id) external {
        router.refund(id);
    }

    function onInferenceResult(bytes32, int64[] calldata, bytes calldata) external view {
        if (burnGas) {
            while (gasleft() > 100) {}
        }
        revert("consumer failed");
    }
}
