// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Implemented by contracts that request inferences from the OracleRouter.
interface IDestraConsumer {
    /// @param requestId the id returned by OracleRouter.request
    /// @param output the canonical fixed-point outputs (scale from the model's registry entry)
    /// @param report the full signed report bytes, for consumers that keep them
    function onInferenceResult(bytes32 requestId, int64[] calldata output, bytes calldata report) external;
}
