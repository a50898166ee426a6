// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDestraConsumer} from "../../src/IDestraConsumer.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";

/// Test-only consumer whose callback always fails (or burns all its gas), to show fulfilment goes on.
contract RevertingConsumer is IDestraConsumer {
    OracleRouter public immutable router;
    bool public burnGas;

    constructor(OracleRouter router_, bool burnGas_) {
        router = router_;
        burnGas = burnGas_;
    }

    function ask(bytes32 model, bytes calldata input, uint32 gasLimit) external payable returns (bytes32) {
        return router.request{value: msg.value}(model, input, gasLimit);
    }

    function onInferenceResult(bytes32, int64[] calldata, bytes calldata) external view {
        if (burnGas) {
            while (gasleft() > 100) {}
        }
        revert("consumer failed");
    }
}
