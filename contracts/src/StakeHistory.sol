// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Per-block checkpoints of a value (bonded stake), for vote weighting at a past block.
/// @dev Same idea as OpenZeppelin Checkpoints.Trace208, written without inline assembly: OZ's version uses
///      non-memory-safe assembly, which stops via-IR from moving variables to memory and makes
///      CommitteeRegistry fail with "stack too deep".
library StakeHistory {
    struct Checkpoint {
        uint48 blockNumber;
        uint208 value;
    }

    struct History {
        Checkpoint[] checkpoints;
    }

    /// @notice Records `value` as of the current block (overwriting an entry of the same block).
    function record(History storage h, uint256 value) internal {
        uint48 now_ = uint48(block.number);
        uint256 n = h.checkpoints.length;
        if (n > 0 && h.checkpoints[n - 1].blockNumber == now_) h.checkpoints[n - 1].value = uint208(value);
        else h.checkpoints.push(Checkpoint(now_, uint208(value)));
    }

    /// @notice The value at the end of `blockNumber` (0 before the first checkpoint). Binary search.
    function at(History storage h, uint256 blockNumber) internal view returns (uint256) {
        uint256 lo = 0;
        uint256 hi = h.checkpoints.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (h.checkpoints[mid].blockNumber > blockNumber) hi = mid;
            else lo = mid + 1;
        }
        return hi == 0 ? 0 : h.checkpoints[hi - 1].value;
    }
}
