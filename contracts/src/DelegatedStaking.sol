// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {StakeHistory} from "./StakeHistory.sol";

/// @notice Where fee revenue accrues (OracleRouter): DelegatedStaking pulls it before stake changes.
interface IFeeSource {
    function stakerFees() external view returns (uint128);
    function collectFees() external returns (uint256);
}

/// @notice What DelegatedStaking needs from CommitteeRegistry (which operators exist, which epochs they
///         served in, and how long evidence about an epoch is accepted).
interface IOperatorRegistry {
    function isOperator(address operator) external view returns (bool);
    function lastEpochOf(address operator) external view returns (uint64);
    function slashableUntil(uint64 epoch) external view returns (uint64);
    function unbondingDelay() external view returns (uint64);
}

/// @title DSYNC staking: operator self-bonds, delegation, unbonding, slashing and ETH fee rewards.
/// @notice Each operator has a pool. Anyone (the operator itself included: its self-bond) delegates DSYNC
///         to an operator and gets pool shares; the operator's stake (self + delegated) ranks it for the
///         committee (CommitteeRegistry.nextCommittee) and weighs its governance votes. Unbonding moves
///         shares into the pool's unbonding side: out of ranking and rewards at once, but still slashable
///         until withdrawn, and withdrawable only after the unbonding delay and after every committee
///         epoch the operator had served in when the unbond was requested has ended plus the delay (the
///         evidence window). A slash cuts the bonded and the unbonding side of the pool by the same
///         fraction (shares stay, each share is worth less), so no loop ever runs over delegators.
///         ETH fees accrue to all bonded stake pro rata (reward per stake); each pool takes its operator's
///         commission first and shares the rest per share (reward per share); claimable any time. The
///         router only counts the stakers' share; it is pulled here before every stake change, so fees
///         always go to the stake that was bonded while they were earned.
contract DelegatedStaking is ReentrancyGuard {
    using SafeERC20 for IERC20;
    using StakeHistory for StakeHistory.History;

    error NotGovernance();
    error NotRegistry();
    error NotOperator(address account);
    error ZeroAmount();
    error InsufficientStake(uint256 have, uint256 want);
    error StillUnbonding(uint64 unbondAt);
    /// Unbonded stake of an operator that served in committee epoch `epoch` stays slashable until
    /// `releaseAt` (type(uint64).max while that epoch is current).
    error StakeLocked(uint64 epoch, uint64 releaseAt);
    error NothingToWithdraw();
    error NothingToClaim();
    error CommissionTooHigh(uint16 bps, uint16 max);
    error TransferFailed();
    error FutureLookup(uint256 blockNumber, uint256 current);

    event Delegated(address indexed operator, address indexed delegator, uint256 amount, uint256 shares);
    event UnbondRequested(address indexed operator, address indexed delegator, uint256 amount, uint64 unbondAt, uint64 lockEpoch);
    event Withdrawn(address indexed operator, address indexed delegator, uint256 amount);
    event CommissionChangeQueued(address indexed operator, uint16 bps, uint64 effectiveAt);
    event FeesDeposited(uint256 amount);
    event RewardsClaimed(address indexed operator, address indexed delegator, uint256 amount);
    event PoolSlashed(address indexed operator, uint256 bonded, uint256 unbonding, address reporter);
    event ParamsChanged(uint256 minSelfBond, uint64 commissionDelay, uint16 maxCommissionBps);
    event FeeSourceChanged(address feeSource);

    struct Pool {
        uint128 stake; // bonded DSYNC (self + delegated), net of slashes
        uint128 shares; // bonded shares
        uint128 unbondingStake; // DSYNC waiting for withdrawal: no ranking, no rewards, still slashable
        uint128 unbondingShares;
        uint16 commissionBps;
        uint16 pendingCommissionBps;
        uint64 commissionAt; // when pendingCommissionBps takes effect (0: no change queued)
        uint256 feeCheckpoint; // accFeePerStake when the pool last synced
        uint256 accRewardPerShare; // ETH per bonded share after commission, scaled by PRECISION
    }

    struct Position {
        uint128 shares;
        uint128 unbondingShares;
        uint64 unbondAt;
        uint64 lockEpoch; // latest committee epoch of the operator when this position last unbonded
        uint256 rewardDebt;
        uint256 rewards; // claimable ETH (the operator's commission lands in its own position)
    }

    uint256 private constant PRECISION = 1e18;

    IERC20 public immutable token;
    IOperatorRegistry public immutable registry;
    address public governance;
    uint256 public minSelfBond;
    uint64 public commissionDelay;
    uint16 public maxCommissionBps;
    /// The router whose accrued staker fees are pulled before every stake change (0: none).
    IFeeSource public feeSource;

    mapping(address => Pool) public pools;
    mapping(address => mapping(address => Position)) public positions;
    uint256 public totalBonded;
    uint256 public accFeePerStake;
    uint256 public undistributedFees;
    uint256 public totalSlashed;
    /// Bonded stake per operator and in total, by block: governance weighs votes at a past block, so
    /// stake added during a vote cannot swing it.
    mapping(address => StakeHistory.History) private stakeHistory;
    StakeHistory.History private totalHistory;

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    constructor(IERC20 token_, IOperatorRegistry registry_, address governance_, uint256 minSelfBond_, uint64 commissionDelay_) {
        token = token_;
        registry = registry_;
        governance = governance_;
        minSelfBond = minSelfBond_;
        commissionDelay = commissionDelay_;
        maxCommissionBps = 5_000;
    }

    // ---------------------------------------------------------------- governance

    function setGovernance(address next) external onlyGovernance {
        governance = next;
    }

    function setFeeSource(IFeeSource source) external onlyGovernance {
        _pullFees();
        feeSource = source;
        emit FeeSourceChanged(address(source));
    }

    function setParams(uint256 minSelfBond_, uint64 commissionDelay_, uint16 maxCommissionBps_) external onlyGovernance {
        if (maxCommissionBps_ > 10_000) revert CommissionTooHigh(maxCommissionBps_, 10_000);
        (minSelfBond, commissionDelay, maxCommissionBps) = (minSelfBond_, commissionDelay_, maxCommissionBps_);
        emit ParamsChanged(minSelfBond_, commissionDelay_, maxCommissionBps_);
    }

    // ---------------------------------------------------------------- staking

    /// @notice Bonds `amount` DSYNC (approved to this contract) to `operator`; from the operator itself
    ///         this is its self-bond.
    function delegate(address operator, uint256 amount) external nonReentrant {
        _delegate(operator, amount);
    }

    /// @notice delegate() with an ERC-2612 permit instead of a prior approval: one transaction. A permit
    ///         already used (e.g. front-run by someone relaying it) is ignored if the allowance is there.
    function delegateWithPermit(address operator, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _delegate(operator, amount);
    }

    function _delegate(address operator, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (!registry.isOperator(operator)) revert NotOperator(operator);
        _pullFees();
        Pool storage p = pools[operator];
        Position storage pos = positions[operator][msg.sender];
        _sync(operator, p);
        _settle(p, pos);
        uint256 shares = p.shares == 0 ? amount : (amount * p.shares) / p.stake;
        if (shares == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        p.stake += uint128(amount);
        p.shares += uint128(shares);
        pos.shares += uint128(shares);
        pos.rewardDebt = (uint256(pos.shares) * p.accRewardPerShare) / PRECISION;
        totalBonded += amount;
        _distribute();
        _checkpoint(operator, p);
        emit Delegated(operator, msg.sender, amount, shares);
    }

    /// @notice Starts unbonding `amount` DSYNC (at most the position's value) of the caller's stake with
    ///         `operator`. It stops ranking and earning now and stays slashable until withdrawn.
    function requestUnbond(address operator, uint256 amount) external nonReentrant {
        _pullFees();
        Pool storage p = pools[operator];
        Position storage pos = positions[operator][msg.sender];
        _sync(operator, p);
        _settle(p, pos);
        uint256 have = pos.shares == 0 ? 0 : (uint256(pos.shares) * p.stake) / p.shares;
        if (amount == 0) revert ZeroAmount();
        if (amount > have) revert InsufficientStake(have, amount);
        uint256 shares = amount == have ? pos.shares : _ceilDiv(amount * p.shares, p.stake);
        if (shares > pos.shares) shares = pos.shares;
        uint256 value = shares == p.shares ? p.stake : (shares * p.stake) / p.shares;
        if (value == 0) revert ZeroAmount(); // dust that would burn shares for nothing
        p.shares -= uint128(shares);
        p.stake -= uint128(value);
        pos.shares -= uint128(shares);
        totalBonded -= value;
        uint256 ushares = p.unbondingShares == 0 ? value : (value * p.unbondingShares) / p.unbondingStake;
        p.unbondingStake += uint128(value);
        p.unbondingShares += uint128(ushares);
        pos.unbondingShares += uint128(ushares);
        uint64 until = uint64(block.timestamp) + registry.unbondingDelay();
        if (until > pos.unbondAt) pos.unbondAt = until;
        uint64 last = registry.lastEpochOf(operator);
        if (last > pos.lockEpoch) pos.lockEpoch = last;
        pos.rewardDebt = (uint256(pos.shares) * p.accRewardPerShare) / PRECISION;
        _checkpoint(operator, p);
        emit UnbondRequested(operator, msg.sender, value, pos.unbondAt, pos.lockEpoch);
    }

    /// @notice Pays out the caller's unbonded stake with `operator` (net of any slash since).
    function withdraw(address operator) external nonReentrant {
        Pool storage p = pools[operator];
        Position storage pos = positions[operator][msg.sender];
        uint256 us = pos.unbondingShares;
        if (us == 0) revert NothingToWithdraw();
        if (block.timestamp < pos.unbondAt) revert StillUnbonding(pos.unbondAt);
        uint64 lockEpoch = pos.lockEpoch;
        if (lockEpoch != 0) {
            uint64 releaseAt = registry.slashableUntil(lockEpoch);
            if (block.timestamp < releaseAt) revert StakeLocked(lockEpoch, releaseAt);
        }
        uint256 value = us == p.unbondingShares ? p.unbondingStake : (us * p.unbondingStake) / p.unbondingShares;
        p.unbondingStake -= uint128(value);
        p.unbondingShares -= uint128(us);
        pos.unbondingShares = 0;
        pos.unbondAt = 0;
        pos.lockEpoch = 0;
        token.safeTransfer(msg.sender, value);
        emit Withdrawn(operator, msg.sender, value);
    }

    /// @notice Queues the caller's (an operator's) commission; it applies after `commissionDelay`, so
    ///         delegators can leave before a raise. A pool with no delegators changes at once.
    function setCommission(uint16 bps) external {
        if (!registry.isOperator(msg.sender)) revert NotOperator(msg.sender);
        if (bps > maxCommissionBps) revert CommissionTooHigh(bps, maxCommissionBps);
        _pullFees();
        Pool storage p = pools[msg.sender];
        _sync(msg.sender, p);
        if (p.shares == positions[msg.sender][msg.sender].shares) {
            (p.commissionBps, p.commissionAt) = (bps, 0);
            emit CommissionChangeQueued(msg.sender, bps, uint64(block.timestamp));
        } else {
            uint64 at = uint64(block.timestamp) + commissionDelay;
            (p.pendingCommissionBps, p.commissionAt) = (bps, at);
            emit CommissionChangeQueued(msg.sender, bps, at);
        }
    }

    // ---------------------------------------------------------------- fees

    /// @notice ETH fee income, for all bonded stake pro rata (the router's share arrives through
    ///         receive() when pulled; anyone may add more).
    function depositFees() external payable {
        undistributedFees += msg.value;
        _distribute();
        emit FeesDeposited(msg.value);
    }

    receive() external payable {
        undistributedFees += msg.value;
        emit FeesDeposited(msg.value);
    }

    /// @notice Pulls the router's accrued fees and distributes them to the stake bonded now.
    function pullFees() external nonReentrant {
        _pullFees();
    }

    /// @notice Claims the caller's ETH rewards from `operator`'s pool (an operator claiming from its own
    ///         pool also gets its commission).
    function claimRewards(address operator) external nonReentrant {
        _pullFees();
        Pool storage p = pools[operator];
        Position storage pos = positions[operator][msg.sender];
        _sync(operator, p);
        _settle(p, pos);
        uint256 amount = pos.rewards;
        if (amount == 0) revert NothingToClaim();
        pos.rewards = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
        emit RewardsClaimed(operator, msg.sender, amount);
    }

    function pendingRewards(address operator, address account) external view returns (uint256) {
        Pool storage p = pools[operator];
        Position storage pos = positions[operator][account];
        uint256 acc = accFeePerStake;
        uint256 fees = undistributedFees + (address(feeSource) == address(0) ? 0 : feeSource.stakerFees());
        if (fees != 0 && totalBonded != 0) acc += (fees * PRECISION) / totalBonded;
        uint256 earned = (uint256(p.stake) * (acc - p.feeCheckpoint)) / PRECISION;
        uint16 bps = p.commissionAt != 0 && block.timestamp >= p.commissionAt ? p.pendingCommissionBps : p.commissionBps;
        uint256 commission = p.shares == 0 ? earned : (earned * bps) / 10_000;
        uint256 perShare = p.accRewardPerShare + (p.shares == 0 ? 0 : ((earned - commission) * PRECISION) / p.shares);
        uint256 own = pos.rewards + (uint256(pos.shares) * perShare) / PRECISION - pos.rewardDebt;
        return account == operator ? own + commission : own;
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Cuts `bps` of `operator`'s bonded and unbonding stake (every delegator pro rata): half to
    ///         `reporter`, half burned. Only the registry calls this, after verifying the evidence.
    function slash(address operator, uint16 bps, address reporter) external nonReentrant returns (uint256 amount) {
        if (msg.sender != address(registry)) revert NotRegistry();
        _pullFees();
        Pool storage p = pools[operator];
        _sync(operator, p); // fees earned so far are paid on the stake that earned them
        uint256 bonded = (uint256(p.stake) * bps) / 10_000;
        uint256 unbonding = (uint256(p.unbondingStake) * bps) / 10_000;
        p.stake -= uint128(bonded);
        p.unbondingStake -= uint128(unbonding);
        totalBonded -= bonded;
        amount = bonded + unbonding;
        totalSlashed += amount;
        _checkpoint(operator, p);
        uint256 toReporter = amount / 2;
        if (amount - toReporter > 0) ERC20Burnable(address(token)).burn(amount - toReporter);
        if (toReporter > 0) token.safeTransfer(reporter, toReporter);
        emit PoolSlashed(operator, bonded, unbonding, reporter);
    }

    // ---------------------------------------------------------------- views

    /// @notice Stake that ranks `operator` for the committee: self + delegated, or 0 while its
    ///         self-bond is below minSelfBond.
    function selectionStake(address operator) external view returns (uint256) {
        Pool storage p = pools[operator];
        if (p.shares == 0) return 0;
        uint256 self = (uint256(positions[operator][operator].shares) * p.stake) / p.shares;
        return self < minSelfBond ? 0 : p.stake;
    }

    /// @notice DSYNC value of `account`'s bonded stake with `operator` (the self-bond when equal).
    function stakeOf(address operator, address account) public view returns (uint256) {
        Pool storage p = pools[operator];
        return p.shares == 0 ? 0 : (uint256(positions[operator][account].shares) * p.stake) / p.shares;
    }

    /// @notice DSYNC value of `account`'s unbonding stake with `operator`.
    function unbondingOf(address operator, address account) external view returns (uint256) {
        Pool storage p = pools[operator];
        return p.unbondingShares == 0 ? 0 : (uint256(positions[operator][account].unbondingShares) * p.unbondingStake) / p.unbondingShares;
    }

    /// @notice Governance weight of `operator` at the end of block `blockNumber`: its bonded stake,
    ///         self + delegated (delegators vote through the operator they back).
    function votesAt(address operator, uint256 blockNumber) external view returns (uint256) {
        return stakeHistory[operator].at(_pastBlock(blockNumber));
    }

    function totalVotesAt(uint256 blockNumber) external view returns (uint256) {
        return totalHistory.at(_pastBlock(blockNumber));
    }

    function currentVotes(address operator) external view returns (uint256) {
        return pools[operator].stake;
    }

    // ---------------------------------------------------------------- internals

    /// Fees earned so far belong to the stake bonded so far: pulled before any stake changes.
    function _pullFees() private {
        IFeeSource source = feeSource;
        if (address(source) != address(0) && source.stakerFees() != 0) source.collectFees();
        _distribute();
    }

    function _distribute() private {
        uint256 fees = undistributedFees;
        if (fees == 0 || totalBonded == 0) return;
        accFeePerStake += (fees * PRECISION) / totalBonded;
        undistributedFees = 0;
    }

    /// Brings the pool's fee share up to date: commission to the operator, the rest per share.
    function _sync(address operator, Pool storage p) private {
        if (p.commissionAt != 0 && block.timestamp >= p.commissionAt) (p.commissionBps, p.commissionAt) = (p.pendingCommissionBps, 0);
        uint256 acc = accFeePerStake;
        uint256 earned = (uint256(p.stake) * (acc - p.feeCheckpoint)) / PRECISION;
        p.feeCheckpoint = acc;
        if (earned == 0) return;
        uint256 commission = p.shares == 0 ? earned : (earned * p.commissionBps) / 10_000;
        if (p.shares != 0) p.accRewardPerShare += ((earned - commission) * PRECISION) / p.shares;
        positions[operator][operator].rewards += commission;
    }

    function _settle(Pool storage p, Position storage pos) private {
        uint256 acc = (uint256(pos.shares) * p.accRewardPerShare) / PRECISION;
        pos.rewards += acc - pos.rewardDebt;
        pos.rewardDebt = acc;
    }

    function _checkpoint(address operator, Pool storage p) private {
        stakeHistory[operator].record(p.stake);
        totalHistory.record(totalBonded);
    }

    function _pastBlock(uint256 blockNumber) private view returns (uint256) {
        if (blockNumber >= block.number) revert FutureLookup(blockNumber, block.number);
        return blockNumber;
    }

    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
