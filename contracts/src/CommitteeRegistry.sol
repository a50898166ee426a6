// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {StakeHistory} from "./StakeHistory.sol";
import {BLS} from "./BLS.sol";
import {KeyPointer} from "./KeyPointer.sol";
import {ReportLib} from "./ReportLib.sol";
import {HandoverLib} from "./HandoverLib.sol";

/// @title Staking, committee epochs, equivocation slashing and fee distribution.
/// @notice Operators stake ETH with a BLS operator key (G2, EIP-2537) and a proof of possession. Each
///         epoch's committee is the top-`committeeSize` operators by stake; its group key (from a DKG) is
///         accepted only with a handover signed by the previous committee (genesis: the deployer). Fees
///         arrive in ETH and accrue to active stake pro rata (reward-per-stake accounting). No token.
contract CommitteeRegistry is ReentrancyGuard {
    using StakeHistory for StakeHistory.History;

    error NotGovernance();
    error AlreadyInitialised();
    error InsufficientStake(uint256 got, uint256 minimum);
    error InvalidProofOfPossession();
    error KeyAlreadyRegistered();
    error KeyMismatch();
    error NotStaked();
    error StillBonded(uint64 unbondAt);
    error NothingToWithdraw();
    error HandoverMalformed(string field);
    error HandoverWrongEpoch(uint64 expected, uint64 got);
    error HandoverWrongDomain();
    error HandoverWrongCommittee();
    error BadSignature();
    error UnknownEpoch(uint64 epoch);
    error EvidenceInvalid(string reason);
    error AlreadySlashed();
    error TransferFailed();
    error TooManyOperators();
    error FutureLookup(uint256 blockNumber, uint256 current);
    /// A report of `epoch` after its window closed: `epoch` stopped being current at the next handover and
    /// its key was accepted only until `graceEndedAt` (handover time + handoverGrace).
    error EpochRetired(uint64 epoch, uint64 currentEpoch, uint64 graceEndedAt);
    /// Evidence about `epoch` arrived after `windowEndedAt` (the epoch's end + unbondingDelay).
    error EvidenceExpired(uint64 epoch, uint64 windowEndedAt);
    /// The operator served in committee epoch `lastEpoch`; its stake stays slashable until `releaseAt`
    /// (0 while that epoch is still current).
    error StillInCommittee(uint64 lastEpoch, uint64 releaseAt);

    event Staked(address indexed operator, uint256 amount, uint256 totalStake, bytes32 blsKeyHash);
    event UnbondRequested(address indexed operator, uint64 unbondAt);
    event Withdrawn(address indexed operator, uint256 amount);
    event Handover(uint64 indexed epoch, uint16 threshold, uint16 committeeSize, bytes32 groupKeyHash, bytes32 sharesRoot, bytes32 membersRoot);
    event Slashed(address indexed operator, uint64 indexed epoch, bytes32 indexed requestId, uint256 amount, address reporter);
    event FeesDeposited(uint256 amount);
    event FeesClaimed(address indexed operator, uint256 amount);
    event ParamsChanged(uint256 minStake, uint64 unbondingDelay, uint16 committeeSize, uint16 slashBps);
    event HandoverGraceChanged(uint64 graceSeconds);

    struct Operator {
        uint128 stake;
        uint64 unbondAt; // 0 while bonded
        bool registered;
        bytes32 blsKeyHash;
        uint256 rewardDebt;
        uint256 rewards;
        uint64 lastEpoch; // latest committee epoch the operator was named in (0: never)
    }

    struct EpochInfo {
        address groupKey; // KeyPointer to the 256-byte EIP-2537 G2 key
        uint16 threshold;
        uint16 committeeSize;
        uint64 activatedAt; // block timestamp of initGenesis / the handover that installed it
        bytes32 sharesRoot;
        bytes32 membersRoot;
    }

    uint256 private constant PRECISION = 1e18;
    uint256 public constant MAX_OPERATORS = 512;
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

    bytes32 public immutable domain;
    address public governance;
    uint256 public minStake;
    uint64 public unbondingDelay;
    uint16 public committeeSize;
    uint16 public slashBps;

    uint64 public currentEpoch;
    /// Seconds after a handover during which the previous epoch's key is still accepted, so a request
    /// answered (signed) just before the handover still lands. Governance-set; see docs/ethereum.md.
    uint64 public handoverGrace = 300;
    mapping(uint64 => EpochInfo) private epochs;
    mapping(address => Operator) public operators;
    mapping(address => address) private blsKeys; // operator -> KeyPointer
    mapping(bytes32 => address) public keyOwner; // blsKeyHash -> operator
    address[] public operatorList;
    uint256 public totalActiveStake;
    uint256 public accRewardPerStake;
    uint256 public undistributedFees;
    /// Active (bonded) stake per operator and in total, by block number: governance weighs votes at the
    /// block before a proposal, so stake added during a vote cannot swing it.
    mapping(address => StakeHistory.History) private activeStakeHistory;
    StakeHistory.History private totalActiveStakeHistory;
    uint256 public totalSlashedBurned;
    mapping(bytes32 => bool) public slashedEvidence;

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    constructor(bytes32 domain_, address governance_, uint256 minStake_, uint64 unbondingDelay_, uint16 committeeSize_, uint16 slashBps_) {
        domain = domain_;
        governance = governance_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        committeeSize = committeeSize_;
        slashBps = slashBps_;
    }

    // ---------------------------------------------------------------- governance

    function setGovernance(address next) external onlyGovernance {
        governance = next;
    }

    function setParams(uint256 minStake_, uint64 unbondingDelay_, uint16 committeeSize_, uint16 slashBps_) external onlyGovernance {
        if (slashBps_ > 10_000 || committeeSize_ == 0) revert EvidenceInvalid("params");
        (minStake, unbondingDelay, committeeSize, slashBps) = (minStake_, unbondingDelay_, committeeSize_, slashBps_);
        emit ParamsChanged(minStake_, unbondingDelay_, committeeSize_, slashBps_);
    }

    /// @notice Changes how long (seconds) a retired epoch's reports are accepted after a handover.
    function setHandoverGrace(uint64 seconds_) external onlyGovernance {
        handoverGrace = seconds_;
        emit HandoverGraceChanged(seconds_);
    }

    /// @notice The first committee's key, set once by the deployer (governance) after the first DKG.
    function initGenesis(bytes calldata groupKey256, uint16 threshold, uint16 size, bytes32 sharesRoot, bytes32 membersRoot) external onlyGovernance {
        if (currentEpoch != 0) revert AlreadyInitialised();
        if (groupKey256.length != 256) revert HandoverMalformed("groupKey");
        if (threshold == 0 || threshold > size || size > 256) revert HandoverMalformed("threshold");
        BLS.checkG2(groupKey256);
        epochs[1] = EpochInfo(KeyPointer.write(groupKey256), threshold, size, uint64(block.timestamp), sharesRoot, membersRoot);
        currentEpoch = 1;
        _markCommittee(nextCommittee(size), 1);
        emit Handover(1, threshold, size, keccak256(groupKey256), sharesRoot, membersRoot);
    }

    // ---------------------------------------------------------------- staking

    /// @param blsPublicKey operator key, G2 in EIP-2537 encoding (256 bytes)
    /// @param proofOfPossession G1 signature (EIP-2537, 128 bytes) over the compressed key under the POP DST
    function stake(bytes calldata blsPublicKey, bytes calldata proofOfPossession) external payable nonReentrant {
        Operator storage op = operators[msg.sender];
        bytes32 keyHash = keccak256(blsPublicKey);
        if (!op.registered) {
            if (operatorList.length >= MAX_OPERATORS) revert TooManyOperators();
            if (keyOwner[keyHash] != address(0)) revert KeyAlreadyRegistered();
            bytes memory pk = blsPublicKey;
            if (!BLS.verify(pk, BLS.g2Compress(pk), proofOfPossession, BLS.DESTRA_POP_DST)) revert InvalidProofOfPossession();
            op.registered = true;
            op.blsKeyHash = keyHash;
            keyOwner[keyHash] = msg.sender;
            blsKeys[msg.sender] = KeyPointer.write(pk);
            operatorList.push(msg.sender);
        } else if (op.blsKeyHash != keyHash) {
            revert KeyMismatch();
        }
        if (op.unbondAt != 0) revert StillBonded(op.unbondAt); // withdraw first, then stake again
        _settle(msg.sender);
        op.stake += uint128(msg.value);
        if (op.stake < minStake) revert InsufficientStake(op.stake, minStake);
        totalActiveStake += msg.value;
        op.rewardDebt = (uint256(op.stake) * accRewardPerStake) / PRECISION;
        _distributeUndistributed();
        _checkpoint(msg.sender);
        emit Staked(msg.sender, msg.value, op.stake, keyHash);
    }

    /// @notice Stops earning and leaves committee selection; the stake stays slashable until withdrawn.
    function requestUnbond() external nonReentrant {
        Operator storage op = operators[msg.sender];
        if (op.stake == 0 || op.unbondAt != 0) revert NotStaked();
        _settle(msg.sender);
        totalActiveStake -= op.stake;
        op.rewardDebt = 0;
        op.unbondAt = uint64(block.timestamp) + unbondingDelay;
        _checkpoint(msg.sender);
        emit UnbondRequested(msg.sender, op.unbondAt);
    }

    /// @notice Pays out unbonded stake once the unbonding delay has passed and, for a committee member,
    ///         once its last epoch has ended plus the unbonding delay: evidence about that epoch can be
    ///         submitted until then, and must still find the stake.
    function withdraw() external nonReentrant {
        Operator storage op = operators[msg.sender];
        if (op.unbondAt == 0 || op.stake == 0) revert NothingToWithdraw();
        if (block.timestamp < op.unbondAt) revert StillBonded(op.unbondAt);
        uint64 last = op.lastEpoch;
        if (last != 0) {
            if (last >= currentEpoch) revert StillInCommittee(last, 0);
            uint64 releaseAt = epochs[last + 1].activatedAt + unbondingDelay;
            if (block.timestamp < releaseAt) revert StillInCommittee(last, releaseAt);
        }
        uint256 amount = op.stake;
        op.stake = 0;
        op.unbondAt = 0;
        _send(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice Bonded stake of `operator` at the end of block `blockNumber` (must be in the past).
    function activeStakeAt(address operator, uint256 blockNumber) external view returns (uint256) {
        return activeStakeHistory[operator].at(_pastBlock(blockNumber));
    }

    /// @notice Total bonded stake at the end of block `blockNumber` (must be in the past).
    function totalActiveStakeAt(uint256 blockNumber) external view returns (uint256) {
        return totalActiveStakeHistory.at(_pastBlock(blockNumber));
    }

    function _pastBlock(uint256 blockNumber) private view returns (uint256) {
        if (blockNumber >= block.number) revert FutureLookup(blockNumber, block.number);
        return blockNumber;
    }

    function _checkpoint(address operator) private {
        Operator storage op = operators[operator];
        activeStakeHistory[operator].record(op.unbondAt == 0 ? op.stake : 0);
        totalActiveStakeHistory.record(totalActiveStake);
    }

    function blsKeyOf(address operator) external view returns (bytes memory) {
        address p = blsKeys[operator];
        return p == address(0) ? bytes("") : KeyPointer.read(p, 256);
    }

    function operatorCount() external view returns (uint256) {
        return operatorList.length;
    }

    /// @notice The top-`n` bonded operators by stake (ties broken by lower address), i.e. the committee
    ///         the next handover must name.
    function nextCommittee(uint256 n) public view returns (address[] memory members) {
        uint256 count = operatorList.length;
        address[] memory c = new address[](count);
        uint256 k;
        for (uint256 i = 0; i < count; i++) {
            address a = operatorList[i];
            Operator storage op = operators[a];
            if (op.unbondAt == 0 && op.stake >= minStake) c[k++] = a;
        }
        if (n > k) n = k;
        members = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 best = i;
            for (uint256 j = i + 1; j < k; j++) {
                if (_ranksAbove(c[j], c[best])) best = j;
            }
            (c[i], c[best]) = (c[best], c[i]);
            members[i] = c[i];
        }
    }

    function _ranksAbove(address a, address b) private view returns (bool) {
        uint256 sa = operators[a].stake;
        uint256 sb = operators[b].stake;
        return sa > sb || (sa == sb && a < b);
    }

    function membersRootOf(address[] memory members) public pure returns (bytes32) {
        bytes memory packed = new bytes(32 * members.length);
        for (uint256 i = 0; i < members.length; i++) {
            bytes32 w = bytes32(uint256(uint160(members[i])));
            assembly ("memory-safe") {
                mstore(add(add(packed, 32), mul(i, 32)), w)
            }
        }
        return keccak256(packed);
    }

    // ---------------------------------------------------------------- epochs

    function groupKey(uint64 epoch) public view returns (bytes memory) {
        address p = epochs[epoch].groupKey;
        if (p == address(0)) revert UnknownEpoch(epoch);
        return KeyPointer.read(p, 256);
    }

    function epochInfo(uint64 epoch) external view returns (EpochInfo memory) {
        return epochs[epoch];
    }

    /// @notice The group key a report naming `epoch` is verified under now. An epoch's key is accepted
    ///         while it is current and for `handoverGrace` seconds after the handover that retired it
    ///         (a request signed just before the handover still lands); after that it reverts
    ///         EpochRetired, so a retired committee can no longer sign anything that verifies.
    /// @dev One call (one external-call overhead) for the router and FeedStore on their hot path.
    function reportKey(uint64 epoch) external view returns (bytes memory) {
        address p = epochs[epoch].groupKey;
        if (p == address(0)) revert UnknownEpoch(epoch);
        uint64 current = currentEpoch;
        if (epoch != current) {
            uint64 graceEnd = epochs[epoch + 1].activatedAt + handoverGrace;
            if (block.timestamp > graceEnd) revert EpochRetired(epoch, current, graceEnd);
        }
        return KeyPointer.read(p, 256);
    }

    /// @notice Installs the next epoch's key. `handoverBytes` follows docs/report-format.md §4 and must be
    ///         signed (0x02 || keccak256(handoverBytes)) by the current epoch's group key; its committee
    ///         must be exactly the top-n operators by stake.
    function handover(bytes calldata h, bytes calldata signature) external {
        HandoverLib.Handover memory ho = HandoverLib.parse(h);
        if (ho.domain != domain) revert HandoverWrongDomain();
        if (ho.oldEpoch != currentEpoch || currentEpoch == 0) revert HandoverWrongEpoch(currentEpoch, ho.oldEpoch);
        uint16 n = ho.committeeSize;
        address[] memory next = nextCommittee(n);
        if (next.length != n || ho.membersRoot != membersRootOf(next)) revert HandoverWrongCommittee();
        bytes memory message = ReportLib.signingMessage(ReportLib.PURPOSE_HANDOVER, keccak256(h));
        if (!BLS.verify(groupKey(ho.oldEpoch), message, signature, BLS.DESTRA_DST)) revert BadSignature();
        bytes memory key = BLS.g2FromZcash(HandoverLib.groupKey(h));
        BLS.checkG2(key); // a signed but unusable key would brick the router until governance steps in
        epochs[ho.newEpoch] = EpochInfo(KeyPointer.write(key), ho.threshold, n, uint64(block.timestamp), ho.sharesRoot, ho.membersRoot);
        currentEpoch = ho.newEpoch;
        _markCommittee(next, ho.newEpoch);
        emit Handover(ho.newEpoch, ho.threshold, n, keccak256(key), ho.sharesRoot, ho.membersRoot);
    }

    /// Members of `epoch` keep their stake locked until that epoch ends plus the unbonding delay.
    function _markCommittee(address[] memory members, uint64 epoch) private {
        for (uint256 i = 0; i < members.length; i++) operators[members[i]].lastEpoch = epoch;
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Slashes the committee member at `index` (1-based) of `epoch` for equivocation: its key
    ///         share signed two different reports for the same (id, round, epoch, kind), i.e. two answers
    ///         to one question. An honest member signs exactly one report per such slot (a feed signs a
    ///         new round each time, so consecutive rounds are never evidence). Each signature is the
    ///         member's partial over the report's leaf (`0x01 || leaf`, as sent to the aggregator). The
    ///         caller supplies the epoch's public shares (uncompressed G2, checked against sharesRoot) and
    ///         member list (checked against membersRoot). Evidence is accepted while the epoch is current
    ///         and for `unbondingDelay` seconds after it ends (members cannot withdraw before then).
    ///         Half of the slashed stake goes to the reporter, half is burned.
    function slashEquivocation(
        uint64 epoch,
        uint16 index,
        bytes calldata publicShares,
        address[] calldata members,
        bytes calldata reportA,
        bytes calldata signatureA,
        bytes calldata reportB,
        bytes calldata signatureB
    ) external nonReentrant {
        EpochInfo storage e = epochs[epoch];
        if (e.groupKey == address(0)) revert UnknownEpoch(epoch);
        if (index == 0 || index > e.committeeSize) revert EvidenceInvalid("index");
        if (publicShares.length != 192 * uint256(e.committeeSize) || keccak256(publicShares) != e.sharesRoot) revert EvidenceInvalid("publicShares");
        if (members.length != e.committeeSize || membersRootOf(members) != e.membersRoot) revert EvidenceInvalid("members");
        if (epoch != currentEpoch) {
            uint64 windowEnd = epochs[epoch + 1].activatedAt + unbondingDelay;
            if (block.timestamp > windowEnd) revert EvidenceExpired(epoch, windowEnd);
        }
        ReportLib.Header memory a = ReportLib.parse(reportA);
        ReportLib.Header memory b = ReportLib.parse(reportB);
        if (a.epoch != epoch || b.epoch != epoch) revert EvidenceInvalid("epoch");
        if (a.domain != domain || b.domain != domain) revert EvidenceInvalid("domain");
        if (a.id != b.id || a.round != b.round || a.kind != b.kind) revert EvidenceInvalid("different id, round or kind");
        bytes32 leafA = ReportLib.leaf(reportA);
        bytes32 leafB = ReportLib.leaf(reportB);
        if (leafA == leafB) revert EvidenceInvalid("identical reports");
        bytes32 evidence = keccak256(abi.encode(epoch, index, a.kind, a.id, a.round));
        if (slashedEvidence[evidence]) revert AlreadySlashed();
        uint256 at = 192 * (uint256(index) - 1);
        bytes memory share = BLS.g2FromZcash(publicShares[at:at + 192]);
        if (!BLS.verify(share, ReportLib.signingMessage(ReportLib.PURPOSE_ROOT, leafA), signatureA, BLS.DESTRA_DST)) revert EvidenceInvalid("signatureA");
        if (!BLS.verify(share, ReportLib.signingMessage(ReportLib.PURPOSE_ROOT, leafB), signatureB, BLS.DESTRA_DST)) revert EvidenceInvalid("signatureB");
        slashedEvidence[evidence] = true;
        address offender = members[index - 1];
        uint256 amount = _slash(offender);
        emit Slashed(offender, epoch, a.id, amount, msg.sender);
    }

    /// Takes slashBps of the offender's stake: half to the reporter (msg.sender), half burned.
    function _slash(address offender) private returns (uint256 amount) {
        Operator storage op = operators[offender];
        _settle(offender);
        amount = (uint256(op.stake) * slashBps) / 10_000;
        op.stake -= uint128(amount);
        if (op.unbondAt == 0) {
            totalActiveStake -= amount;
            op.rewardDebt = (uint256(op.stake) * accRewardPerStake) / PRECISION;
            _checkpoint(offender);
        }
        uint256 toReporter = amount / 2;
        totalSlashedBurned += amount - toReporter;
        _send(BURN_ADDRESS, amount - toReporter);
        _send(msg.sender, toReporter);
    }

    // ---------------------------------------------------------------- fees

    /// @notice Fee income (from the router) for the bonded operators, pro rata to stake.
    function depositFees() external payable {
        undistributedFees += msg.value;
        _distributeUndistributed();
        emit FeesDeposited(msg.value);
    }

    function pendingFees(address operator) public view returns (uint256) {
        Operator storage op = operators[operator];
        uint256 accrued = op.unbondAt == 0 ? (uint256(op.stake) * accRewardPerStake) / PRECISION - op.rewardDebt : 0;
        return op.rewards + accrued;
    }

    function claimFees() external nonReentrant {
        _settle(msg.sender);
        Operator storage op = operators[msg.sender];
        uint256 amount = op.rewards;
        op.rewards = 0;
        if (amount == 0) revert NothingToWithdraw();
        _send(msg.sender, amount);
        emit FeesClaimed(msg.sender, amount);
    }

    function _distributeUndistributed() private {
        if (totalActiveStake == 0 || undistributedFees == 0) return;
        accRewardPerStake += (undistributedFees * PRECISION) / totalActiveStake;
        undistributedFees = 0;
    }

    function _settle(address operator) private {
        Operator storage op = operators[operator];
        if (op.unbondAt == 0 && op.stake > 0) {
            uint256 accrued = (uint256(op.stake) * accRewardPerStake) / PRECISION;
            op.rewards += accrued - op.rewardDebt;
            op.rewardDebt = accrued;
        }
    }

    function _send(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
