// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title DSYNC, the destra staking token.
/// @notice Fixed supply, minted once to `holder` at deployment; no owner, no minting afterwards. Operators
///         self-bond and holders delegate DSYNC to operators in DelegatedStaking; slashed DSYNC is burned
///         (ERC20Burnable). ERC20Permit lets a delegator approve and stake in one transaction
///         (DelegatedStaking.delegateWithPermit). ERC20Votes keeps the standard vote checkpoints for
///         tooling, but protocol governance weighs votes by *staked* DSYNC (DelegatedStaking.votesAt),
///         since only stake is at risk.
contract DestraToken is ERC20, ERC20Permit, ERC20Burnable, ERC20Votes {
    constructor(address holder, uint256 supply) ERC20("Destra Sync", "DSYNC") ERC20Permit("Destra Sync") {
        _mint(holder, supply);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
