// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DelegatedStaking} from "./DelegatedStaking.sol";

/// @title Stake-weighted governance of protocol parameters, with quorum and a timelock.
/// @notice After deployment the governor owns every protocol parameter (router fee and burn share,
///         committee size, threshold minimum, epoch length, handover grace, unbonding delay, slash share,
///         minimum self-bond, commission rules, model registrations) and itself. Operators propose calls on
///         the governed contracts and vote with their staked DSYNC (self-bond + delegations: delegators
///         vote through the operator they back); passed proposals run after a timelock. Votes and quorum
///         are weighed at the block before the proposal (DelegatedStaking checkpoints), so stake bought
///         during a vote counts for nothing in it. Custom rather than OZ Governor because the weight is
///         staked, slashable DSYNC, not token balance (ERC20Votes on DSYNC is kept for tooling only).
contract DestraGovernor {
    error NotOperator();
    error NoVotingPower(uint64 snapshotBlock);
    error TargetNotGoverned(address target);
    error UnknownProposal(uint256 id);
    error VotingClosed();
    error AlreadyVoted();
    error VotingOpen();
    error ProposalRejected(uint256 forVotes, uint256 againstVotes, uint256 quorum);
    error NotQueued();
    error TimelockActive(uint64 eta);
    error AlreadyExecuted();
    error ExecutionFailed(bytes reason);
    error OnlySelf();

    event ProposalCreated(uint256 indexed id, address indexed proposer, address target, bytes data, string description, uint64 voteEnd);
    event VoteCast(uint256 indexed id, address indexed voter, bool support, uint256 weight);
    event ProposalQueued(uint256 indexed id, uint64 eta);
    event ProposalExecuted(uint256 indexed id);

    struct Proposal {
        address proposer;
        address target;
        uint64 voteEnd;
        uint64 eta;
        bool executed;
        uint256 forVotes;
        uint256 againstVotes;
        uint256 quorum;
        uint64 snapshot; // block whose closing stake weighs the votes
        bytes data;
    }

    DelegatedStaking public immutable staking;
    uint64 public votingPeriod;
    uint64 public timelockDelay;
    uint16 public quorumBps;
    mapping(address => bool) public governed;
    Proposal[] private proposals;
    mapping(uint256 => mapping(address => bool)) public hasVoted;

    constructor(DelegatedStaking staking_, address[] memory targets, uint64 votingPeriod_, uint64 timelockDelay_, uint16 quorumBps_) {
        staking = staking_;
        for (uint256 i = 0; i < targets.length; i++) governed[targets[i]] = true;
        governed[address(this)] = true;
        votingPeriod = votingPeriod_;
        timelockDelay = timelockDelay_;
        quorumBps = quorumBps_;
    }

    /// @notice Governance of governance itself goes through a proposal targeting this contract.
    function setVotingParams(uint64 votingPeriod_, uint64 timelockDelay_, uint16 quorumBps_) external {
        if (msg.sender != address(this)) revert OnlySelf();
        (votingPeriod, timelockDelay, quorumBps) = (votingPeriod_, timelockDelay_, quorumBps_);
    }

    /// @notice Current bonded stake, self + delegated (who may propose); votes use the proposal's
    ///         snapshot instead.
    function votingPower(address operator) public view returns (uint256) {
        return staking.currentVotes(operator);
    }

    function propose(address target, bytes calldata data, string calldata description) external returns (uint256 id) {
        if (votingPower(msg.sender) == 0) revert NotOperator();
        if (!governed[target]) revert TargetNotGoverned(target);
        id = proposals.length;
        uint64 voteEnd = uint64(block.timestamp) + votingPeriod;
        uint64 snapshot = uint64(block.number - 1);
        uint256 quorum = (staking.totalVotesAt(snapshot) * quorumBps) / 10_000;
        proposals.push(Proposal(msg.sender, target, voteEnd, 0, false, 0, 0, quorum, snapshot, data));
        emit ProposalCreated(id, msg.sender, target, data, description, voteEnd);
    }

    function castVote(uint256 id, bool support) external {
        Proposal storage p = _get(id);
        if (block.timestamp > p.voteEnd) revert VotingClosed();
        if (hasVoted[id][msg.sender]) revert AlreadyVoted();
        uint256 weight = staking.votesAt(msg.sender, p.snapshot);
        if (weight == 0) revert NoVotingPower(p.snapshot);
        hasVoted[id][msg.sender] = true;
        if (support) p.forVotes += weight;
        else p.againstVotes += weight;
        emit VoteCast(id, msg.sender, support, weight);
    }

    function queue(uint256 id) external {
        Proposal storage p = _get(id);
        if (block.timestamp <= p.voteEnd) revert VotingOpen();
        if (p.forVotes <= p.againstVotes || p.forVotes + p.againstVotes < p.quorum) revert ProposalRejected(p.forVotes, p.againstVotes, p.quorum);
        if (p.eta != 0) revert AlreadyExecuted();
        p.eta = uint64(block.timestamp) + timelockDelay;
        emit ProposalQueued(id, p.eta);
    }

    function execute(uint256 id) external {
        Proposal storage p = _get(id);
        if (p.eta == 0) revert NotQueued();
        if (block.timestamp < p.eta) revert TimelockActive(p.eta);
        if (p.executed) revert AlreadyExecuted();
        p.executed = true;
        (bool ok, bytes memory ret) = p.target.call(p.data);
        if (!ok) revert ExecutionFailed(ret);
        emit ProposalExecuted(id);
    }

    function proposal(uint256 id) external view returns (Proposal memory) {
        return _get(id);
    }

    function proposalCount() external view returns (uint256) {
        return proposals.length;
    }

    function _get(uint256 id) private view returns (Proposal storage) {
        if (id >= proposals.length) revert UnknownProposal(id);
        return proposals[id];
    }
}
