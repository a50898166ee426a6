// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {BLS} from "./BLS.sol";
import {KeyPointer} from "./KeyPointer.sol";
import {ReportLib} from "./ReportLib.sol";
import {HandoverLib} from "./HandoverLib.sol";
import {DelegatedStaking, IOperatorRegistry} from "./DelegatedStaking.sol";

/// @title Operators, committee epochs and equivocation slashing.
/// @notice Operators register a BLS operator key (G2, EIP-2537) with a proof of possession; their DSYNC
///         (self-bond + delegations) lives in DelegatedStaking. Each epoch's committee is the top-
///         `committeeSize` operators by that stake; its group key (from a DKG) is accepted only with a
///         handover signed by the previous committee (genesis: a one-shot genesis authority, cleared on
///         use). Reports are verified under their own epoch's key while it is current plus a short
///         handover grace (reportKey). Evidence of a double-sign slashes the member's pool.
contract CommitteeRegistry is IOperatorRegistry, ReentrancyGuard {
    error NotGovernance();
    error NotGenesisAuthority();
    error AlreadyInitialised();
    error InvalidParams(string field);
    error InvalidProofOfPossession();
    error KeyAlreadyRegistered();
    error AlreadyRegistered();
    error HandoverMalformed(string field);
    error HandoverWrongEpoch(uint64 expected, uint64 got);
    error HandoverWrongDomain();
    error HandoverWrongCommittee();
    /// The handover's threshold is below governance's minimum share of the committee.
    error ThresholdTooLow(uint16 threshold, uint16 committeeSize, uint16 minThresholdBps);
    error BadSignature();
    error UnknownEpoch(uint64 epoch);
    error EvidenceInvalid(string reason);
    error AlreadySlashed();
    error TooManyOperators();
    /// A report of `epoch` after its window closed: `epoch` stopped being current at the next handover and
    /// its key was accepted only until `graceEndedAt` (handover time + handoverGrace).
    error EpochRetired(uint64 epoch, uint64 currentEpoch, uint64 graceEndedAt);
    /// Evidence about `epoch` arrived after `windowEndedAt` (the epoch's end + unbondingDelay).
    error EvidenceExpired(uint64 epoch, uint64 windowEndedAt);
    /// The caller is not a registered operator.
    error NotRegistered();
    /// setNodeInfo: the X25519 encryption key is zero.
    error InvalidEncryptionKey();
    /// setNodeInfo: the libp2p peer id (multihash bytes) is empty or longer than MAX_PEER_ID_BYTES.
    error InvalidPeerId(uint256 length);
    /// setNodeInfo: no multiaddr, or more than MAX_MULTIADDRS.
    error InvalidMultiaddrCount(uint256 count);
    /// setNodeInfo: multiaddr `index` is empty or longer than MAX_MULTIADDR_BYTES.
    error InvalidMultiaddr(uint256 index, uint256 length);

    event OperatorRegistered(address indexed operator, bytes32 blsKeyHash);
    /// An operator set (or cleared, zero) the Solana address its share of Solana request fees is paid to.
    event SolanaPayoutSet(address indexed operator, bytes32 payout);
    /// An operator published (or replaced) what peers need to reach it: its X25519 key for DKG shares,
    /// its libp2p peer id (multihash bytes) and the multiaddrs it listens on.
    event NodeInfoSet(address indexed operator, bytes32 encryptionKey, bytes peerId, string[] multiaddrs);
    event Handover(uint64 indexed epoch, uint16 threshold, uint16 committeeSize, bytes32 groupKeyHash, bytes32 sharesRoot, bytes32 membersRoot);
    event Slashed(address indexed operator, uint64 indexed epoch, bytes32 indexed requestId, uint256 amount, address reporter);
    event ParamsChanged(uint64 unbondingDelay, uint16 committeeSize, uint16 slashBps, uint16 minThresholdBps, uint64 epochLength, uint64 handoverGrace);

    struct Operator {
        bool registered;
        uint64 lastEpoch; // latest committee epoch the operator was named in (0: never)
        bytes32 blsKeyHash;
    }

    /// What peers need to reach an operator's node (setNodeInfo).
    struct NodeInfo {
        bytes32 encryptionKey; // X25519 public key receiving DKG shares
        bytes peerId; // libp2p peer id, multihash bytes
        string[] multiaddrs; // libp2p multiaddrs, text form
    }

    struct EpochInfo {
        /// KeyPointer (contract code) holding the 256-byte EIP-2537 G2 key followed by the epoch's members
        /// (20 bytes each, committee order; committeeOf). One blob: the member list costs its code deposit
        /// (4,000 gas a member) instead of a storage slot (22,100 gas) each.
        address groupKey;
        uint16 threshold;
        uint16 committeeSize;
        uint64 activatedAt; // block timestamp of initGenesis / the handover that installed it
        bytes32 sharesRoot;
        bytes32 membersRoot;
    }

    uint256 public constant MAX_OPERATORS = 512;
    /// A slash takes at most half of a pool, so a pool's stake never reaches zero while shares remain.
    uint16 public constant MAX_SLASH_BPS = 5_000;
    uint256 internal constant MAX_PEER_ID_BYTES = 64;
    uint256 internal constant MAX_MULTIADDRS = 8;
    uint256 internal constant MAX_MULTIADDR_BYTES = 256;
    /// Code offset of an epoch pointer's member list: the STOP byte and the 256-byte key come first.
    uint256 internal constant MEMBERS_OFFSET = 257;

    bytes32 public immutable domain;
    DelegatedStaking public immutable staking;
    address public governance;
    /// May call initGenesis once; cleared when it does (then nobody can).
    address public genesisAuthority;
    uint64 public unbondingDelay;
    uint16 public committeeSize;
    uint16 public slashBps;
    /// Minimum threshold as a share of the committee (t * 10000 >= n * minThresholdBps), checked at
    /// genesis and at every handover.
    uint16 public minThresholdBps;
    uint64 public currentEpoch;
    /// Seconds after a handover during which the previous epoch's key is still accepted, so a request
    /// answered (signed) just before the handover still lands.
    uint64 public handoverGrace;
    /// Target seconds between handovers. Advisory for the nodes (when to start the next DKG); the chain
    /// accepts a valid handover at any time.
    uint64 public epochLength;

    mapping(uint64 => EpochInfo) private epochs;
    mapping(address => Operator) public operators;
    mapping(address => address) private blsKeys; // operator -> KeyPointer
    mapping(bytes32 => address) public keyOwner; // blsKeyHash -> operator
    address[] public operatorList;
    mapping(bytes32 => bool) public slashedEvidence;
    /// Solana address (32-byte public key) each operator's share of Solana request fees is paid to; zero:
    /// none (its share stays in the program's vault). Read when a handover's payout table is built.
    mapping(address => bytes32) public solanaPayoutOf;
    mapping(address => NodeInfo) private nodeInfos;

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    constructor(
        bytes32 domain_,
        DelegatedStaking staking_,
        address governance_,
        address genesisAuthority_,
        uint64 unbondingDelay_,
        uint16 committeeSize_,
        uint16 slashBps_
    ) {
        domain = domain_;
        staking = staking_;
        governance = governance_;
        genesisAuthority = genesisAuthority_;
        _setParams(unbondingDelay_, committeeSize_, slashBps_, 5_000, 1 days, 300);
    }

    // ---------------------------------------------------------------- governance

    function setGovernance(address next) external onlyGovernance {
        governance = next;
    }

    function setParams(uint64 unbondingDelay_, uint16 committeeSize_, uint16 slashBps_, uint16 minThresholdBps_, uint64 epochLength_, uint64 handoverGrace_)
        external
        onlyGovernance
    {
        _setParams(unbondingDelay_, committeeSize_, slashBps_, minThresholdBps_, epochLength_, handoverGrace_);
    }

    function _setParams(uint64 unbondingDelay_, uint16 committeeSize_, uint16 slashBps_, uint16 minThresholdBps_, uint64 epochLength_, uint64 handoverGrace_)
        private
    {
        if (committeeSize_ == 0 || committeeSize_ > HandoverLib.MAX_COMMITTEE) revert InvalidParams("committeeSize");
        if (slashBps_ > MAX_SLASH_BPS) revert InvalidParams("slashBps");
        if (minThresholdBps_ > 10_000) revert InvalidParams("minThresholdBps");
        // the grace window must close before evidence about the retired epoch stops being accepted
        if (handoverGrace_ > unbondingDelay_) revert InvalidParams("handoverGrace");
        (unbondingDelay, committeeSize, slashBps, minThresholdBps, epochLength, handoverGrace) =
            (unbondingDelay_, committeeSize_, slashBps_, minThresholdBps_, epochLength_, handoverGrace_);
        emit ParamsChanged(unbondingDelay_, committeeSize_, slashBps_, minThresholdBps_, epochLength_, handoverGrace_);
    }

    /// @notice The first committee's key, set once (after the first DKG) by the genesis authority named
    ///         at deployment; the right is cleared on use, so no account keeps power over epochs.
    function initGenesis(bytes calldata groupKey256, uint16 threshold, uint16 size, bytes32 sharesRoot, bytes32 membersRoot) external {
        if (msg.sender != genesisAuthority) revert NotGenesisAuthority();
        if (currentEpoch != 0) revert AlreadyInitialised();
        if (groupKey256.length != 256) revert HandoverMalformed("groupKey");
        if (threshold == 0 || threshold > size || size > HandoverLib.MAX_COMMITTEE) revert HandoverMalformed("threshold");
        _checkThreshold(threshold, size);
        BLS.checkG2(groupKey256);
        genesisAuthority = address(0);
        address[] memory members = nextCommittee(size);
        epochs[1] = EpochInfo(_writeEpoch(groupKey256, members), threshold, size, uint64(block.timestamp), sharesRoot, membersRoot);
        currentEpoch = 1;
        _markCommittee(members, 1);
        emit Handover(1, threshold, size, keccak256(groupKey256), sharesRoot, membersRoot);
    }

    function _checkThreshold(uint16 threshold, uint16 size) private view {
        if (uint256(threshold) * 10_000 < uint256(size) * minThresholdBps) revert ThresholdTooLow(threshold, size, minThresholdBps);
    }

    // ---------------------------------------------------------------- operators

    /// @notice Registers the caller as an operator with its BLS key; stake is bonded separately in
    ///         DelegatedStaking (the operator's own delegation is its self-bond).
    /// @param blsPublicKey operator key, G2 in EIP-2537 encoding (256 bytes)
    /// @param proofOfPossession G1 signature (EIP-2537, 128 bytes) over the compressed key under the POP DST
    function registerOperator(bytes calldata blsPublicKey, bytes calldata proofOfPossession) external {
        Operator storage op = operators[msg.sender];
        if (op.registered) revert AlreadyRegistered();
        if (operatorList.length >= MAX_OPERATORS) revert TooManyOperators();
        bytes32 keyHash = keccak256(blsPublicKey);
        if (keyOwner[keyHash] != address(0)) revert KeyAlreadyRegistered();
        bytes memory pk = blsPublicKey;
        if (!BLS.verify(pk, BLS.g2Compress(pk), proofOfPossession, BLS.DESTRA_POP_DST)) revert InvalidProofOfPossession();
        op.registered = true;
        op.blsKeyHash = keyHash;
        keyOwner[keyHash] = msg.sender;
        blsKeys[msg.sender] = KeyPointer.write(pk);
        operatorList.push(msg.sender);
        emit OperatorRegistered(msg.sender, keyHash);
    }

    /// @notice Sets the Solana address the caller's share of Solana request fees is paid to (zero clears it).
    ///         It enters the payout table of the next handover (docs/report-format.md §4, payoutsRoot).
    function setSolanaPayout(bytes32 payout) external {
        if (!operators[msg.sender].registered) revert NotRegistered();
        solanaPayoutOf[msg.sender] = payout;
        emit SolanaPayoutSet(msg.sender, payout);
    }

    /// @notice Publishes (or replaces) what peers need to reach the caller's node: its X25519 encryption
    ///         key (receives DKG shares), libp2p peer id (multihash bytes, 1..64) and 1..8 multiaddrs
    ///         (text, 1..256 bytes each). Only a registered operator, for itself.
    function setNodeInfo(bytes32 encryptionKey, bytes calldata peerId, string[] calldata multiaddrs) external {
        if (!operators[msg.sender].registered) revert NotRegistered();
        if (encryptionKey == bytes32(0)) revert InvalidEncryptionKey();
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_BYTES) revert InvalidPeerId(peerId.length);
        uint256 n = multiaddrs.length;
        if (n == 0 || n > MAX_MULTIADDRS) revert InvalidMultiaddrCount(n);
        for (uint256 i = 0; i < n; i++) {
            uint256 len = bytes(multiaddrs[i]).length;
            if (len == 0 || len > MAX_MULTIADDR_BYTES) revert InvalidMultiaddr(i, len);
        }
        NodeInfo storage info = nodeInfos[msg.sender];
        info.encryptionKey = encryptionKey;
        info.peerId = peerId;
        string[] storage addrs = info.multiaddrs;
        uint256 old = addrs.length;
        for (uint256 i = 0; i < n; i++) {
            if (i < old) addrs[i] = multiaddrs[i];
            else addrs.push(multiaddrs[i]);
        }
        while (old > n) {
            addrs.pop();
            old--;
        }
        emit NodeInfoSet(msg.sender, encryptionKey, peerId, multiaddrs);
    }

    /// @notice An operator's published node info (zero key, empty peer id and list when none).
    function nodeInfoOf(address operator) external view returns (bytes32 encryptionKey, bytes memory peerId, string[] memory multiaddrs) {
        NodeInfo storage info = nodeInfos[operator];
        return (info.encryptionKey, info.peerId, info.multiaddrs);
    }

    /// @notice The payoutsRoot a handover naming `members` (in committee order) commits to now:
    ///         keccak256 of `solanaPayoutOf(member) ‖ uint64(selectionStake(member) / 1e18)` per member.
    ///         A view for clients and tests; `handover` does not require it (a delegation between signing
    ///         and submitting would otherwise make a valid handover revert).
    function payoutsRootOf(address[] memory members) public view returns (bytes32) {
        bytes memory packed = new bytes(40 * members.length);
        for (uint256 i = 0; i < members.length; i++) {
            bytes32 payee = solanaPayoutOf[members[i]];
            uint256 w = staking.selectionStake(members[i]) / 1e18;
            if (w > type(uint64).max) w = type(uint64).max;
            bytes32 weight = bytes32(uint256(w) << 192);
            assembly ("memory-safe") {
                let at := add(add(packed, 32), mul(i, 40))
                mstore(at, payee)
                mstore(add(at, 32), weight)
            }
        }
        return keccak256(packed);
    }

    function isOperator(address operator) external view returns (bool) {
        return operators[operator].registered;
    }

    function lastEpochOf(address operator) external view returns (uint64) {
        return operators[operator].lastEpoch;
    }

    /// @notice Until when evidence about `epoch` is accepted, so stake that backed it must stay:
    ///         type(uint64).max while the epoch is current, else its end (the next handover) plus the
    ///         unbonding delay.
    function slashableUntil(uint64 epoch) public view returns (uint64) {
        if (epoch >= currentEpoch) return type(uint64).max;
        return epochs[epoch + 1].activatedAt + unbondingDelay;
    }

    function blsKeyOf(address operator) external view returns (bytes memory) {
        address p = blsKeys[operator];
        return p == address(0) ? bytes("") : KeyPointer.read(p, 256);
    }

    function operatorCount() external view returns (uint256) {
        return operatorList.length;
    }

    /// @notice The top-`n` operators by stake (self + delegated, DelegatedStaking.selectionStake: zero
    ///         below the minimum self-bond), ties broken by lower address: the committee the next
    ///         handover must name.
    function nextCommittee(uint256 n) public view returns (address[] memory members) {
        uint256 count = operatorList.length;
        address[] memory c = new address[](count);
        uint256[] memory s = new uint256[](count);
        uint256 k;
        for (uint256 i = 0; i < count; i++) {
            address a = operatorList[i];
            uint256 st = staking.selectionStake(a);
            if (st != 0) (c[k], s[k++]) = (a, st);
        }
        if (n > k) n = k;
        members = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 best = i;
            for (uint256 j = i + 1; j < k; j++) {
                if (s[j] > s[best] || (s[j] == s[best] && c[j] < c[best])) best = j;
            }
            (c[i], c[best]) = (c[best], c[i]);
            (s[i], s[best]) = (s[best], s[i]);
            members[i] = c[i];
        }
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

    /// @notice The committee of `epoch` in committee order (member i is key share i + 1): the list
    ///         nextCommittee returned when initGenesis / the handover installed the epoch, which is what
    ///         its membersRoot commits to for every handover (genesis: the authority's root is not checked).
    function committeeOf(uint64 epoch) external view returns (address[] memory members) {
        address p = epochs[epoch].groupKey;
        if (p == address(0)) revert UnknownEpoch(epoch);
        uint256 n = (p.code.length - MEMBERS_OFFSET) / 20;
        members = new address[](n);
        assembly ("memory-safe") {
            let buf := mload(0x40) // scratch past the free pointer, not kept
            extcodecopy(p, buf, MEMBERS_OFFSET, mul(n, 20))
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(members, mul(add(i, 1), 32)), shr(96, mload(add(buf, mul(i, 20)))))
            }
        }
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
    ///         must be exactly the top-n operators by stake and its threshold at least minThresholdBps.
    function handover(bytes calldata h, bytes calldata signature) external {
        HandoverLib.Handover memory ho = HandoverLib.parse(h);
        if (ho.domain != domain) revert HandoverWrongDomain();
        if (ho.oldEpoch != currentEpoch || currentEpoch == 0) revert HandoverWrongEpoch(currentEpoch, ho.oldEpoch);
        uint16 n = ho.committeeSize;
        _checkThreshold(ho.threshold, n);
        address[] memory next = nextCommittee(n);
        if (next.length != n || ho.membersRoot != membersRootOf(next)) revert HandoverWrongCommittee();
        bytes memory message = ReportLib.signingMessage(ReportLib.PURPOSE_HANDOVER, keccak256(h));
        if (!BLS.verify(groupKey(ho.oldEpoch), message, signature, BLS.DESTRA_DST)) revert BadSignature();
        bytes memory key = BLS.g2FromZcash(HandoverLib.groupKey(h));
        BLS.checkG2(key); // a signed but unusable key would brick the router until governance steps in
        epochs[ho.newEpoch] = EpochInfo(_writeEpoch(key, next), ho.threshold, n, uint64(block.timestamp), ho.sharesRoot, ho.membersRoot);
        currentEpoch = ho.newEpoch;
        _markCommittee(next, ho.newEpoch);
        emit Handover(ho.newEpoch, ho.threshold, n, keccak256(key), ho.sharesRoot, ho.membersRoot);
    }

    /// Writes the epoch's pointer: key (256 bytes, read by groupKey/reportKey at code offset 1) then the
    /// members packed to 20 bytes each (read by committeeOf at MEMBERS_OFFSET).
    function _writeEpoch(bytes memory key256, address[] memory members) private returns (address) {
        uint256 n = members.length;
        bytes memory blob = new bytes(256 + 20 * n);
        assembly ("memory-safe") {
            mcopy(add(blob, 32), add(key256, 32), 256)
            let at := add(blob, 288)
            // each 32-byte store leaves 12 bytes past its address, overwritten by the next member (the
            // last one's land past the blob, in memory nothing uses yet)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(at, mul(i, 20)), shl(96, mload(add(members, mul(add(i, 1), 32)))))
            }
        }
        return KeyPointer.write(blob);
    }

    /// Members of `epoch` (and their delegators) keep unbonded stake locked until that epoch ends plus
    /// the unbonding delay.
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
    ///         and for `unbondingDelay` seconds after it ends (stake that backed it cannot be withdrawn
    ///         before then). `slashBps` of the member's pool (self-bond and delegations, bonded and
    ///         unbonding, pro rata) is taken: half to the caller, half burned.
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
        uint64 windowEnd = slashableUntil(epoch);
        if (block.timestamp > windowEnd) revert EvidenceExpired(epoch, windowEnd);
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
        uint256 amount = staking.slash(offender, slashBps, msg.sender);
        emit Slashed(offender, epoch, a.id, amount, msg.sender);
    }
}
