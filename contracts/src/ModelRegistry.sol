// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Model registry: name → version, ONNX content hash, schemas, output scale, request prices and
///        the model package's content address.
/// @notice Names resolve like ENS records: the key is the namehash of a dotted name (e.g.
///         namehash("risk-score.destra")), so names nest and lookups are one SLOAD-sized read.
///         A model registered with setModelPackage also names its package: the CID (binary CIDv1) of the
///         UnixFS directory holding manifest.json and the ONNX file, and the sha256 of manifest.json's bytes.
///         Nodes fetch the package by CID from their peers and serve it only once the CID, the manifest
///         hash and the ONNX sha256 (= modelHash, the hash reports sign) all check (docs/models.md).
///         Each model has governance-set request prices (setModelFees): an ETH fee paid to the stakers and
///         a DSYNC amount the router burns from the requester (both may be 0). They share the slot with
///         the version and scale, so the router reads hash and prices in two warm-able reads.
contract ModelRegistry {
    error NotGovernance();
    error UnknownModel(bytes32 node);
    error InvalidModel(string field);

    struct Model {
        uint32 version;
        uint64 outputScale; // fixed-point scale of the signed outputs
        uint80 fee; // ETH (wei) per request, owed to the stakers at fulfilment
        uint80 burn; // DSYNC (base units) burned from the requester per request
        bytes32 modelHash; // sha256 of the ONNX file
        bytes32 inputSchemaHash; // keccak256 of the canonical manifest input section
        bytes32 outputSchemaHash;
        string name;
        bytes32 manifestHash; // sha256 of the package's manifest.json bytes (0 without a package)
        bytes cid; // binary CIDv1 of the package directory (empty: the model has no package)
    }

    /// One registered (or removed: modelHash 0) name, as `entries` lists it.
    struct Entry {
        bytes32 node;
        string name;
        uint32 version;
        uint64 outputScale;
        bytes32 modelHash;
        bytes32 manifestHash;
        bytes cid;
    }

    /// Longest CID accepted (a sha2-256 CIDv1 is 36 bytes; this leaves room for longer digests).
    uint256 public constant MAX_CID_BYTES = 128;

    event ModelSet(bytes32 indexed node, string name, uint32 version, bytes32 modelHash, uint64 outputScale);
    event ModelPackageSet(bytes32 indexed node, uint32 version, bytes cid, bytes32 manifestHash);
    event ModelRemoved(bytes32 indexed node, string name, uint32 version);
    event ModelFeesSet(bytes32 indexed node, uint256 fee, uint256 burn);

    address public governance;
    mapping(bytes32 => Model) private models;
    /// Every name ever registered, in registration order (removed ones stay, with modelHash 0).
    bytes32[] private nodeList;

    constructor(address governance_) {
        governance = governance_;
    }

    function setGovernance(address next) external {
        if (msg.sender != governance) revert NotGovernance();
        governance = next;
    }

    /// @notice ENS namehash: node("") = 0; node(label.rest) = keccak256(node(rest) || keccak256(label)).
    function namehash(string memory name) public pure returns (bytes32 node) {
        bytes memory s = bytes(name);
        uint256 end = s.length;
        for (uint256 i = s.length; i > 0; i--) {
            if (s[i - 1] == ".") {
                node = keccak256(abi.encodePacked(node, _labelHash(s, i, end)));
                end = i - 1;
            }
        }
        if (end > 0) node = keccak256(abi.encodePacked(node, _labelHash(s, 0, end)));
    }

    /// Names are 1..255 bytes of non-empty dot-separated labels, so one model has one spelling.
    function _checkName(bytes memory s) private pure {
        if (s.length == 0 || s.length > 255) revert InvalidModel("name length");
        bool empty = true;
        for (uint256 i = 0; i < s.length; i++) {
            bytes1 c = s[i];
            if (c == ".") {
                if (empty) revert InvalidModel("empty label");
                empty = true;
            } else {
                if (c >= "A" && c <= "Z") revert InvalidModel("uppercase");
                empty = false;
            }
        }
        if (empty) revert InvalidModel("empty label");
    }

    function _labelHash(bytes memory s, uint256 from, uint256 to) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := keccak256(add(add(s, 32), from), sub(to, from))
        }
    }

    /// @notice Registers `name` (or its next version) without a package: nodes must hold the ONNX file
    ///         locally. A package registered earlier is dropped.
    function setModel(string calldata name, uint32 version, bytes32 modelHash, bytes32 inputSchemaHash, bytes32 outputSchemaHash, uint64 outputScale)
        external
        returns (bytes32 node)
    {
        node = _set(name, version, modelHash, inputSchemaHash, outputSchemaHash, outputScale, "", 0);
    }

    /// @notice Registers `name` (or its next version) with its package: `cid` is the binary CIDv1 of the
    ///         UnixFS directory (manifest.json + ONNX file), `manifestHash` the sha256 of manifest.json.
    function setModelPackage(
        string calldata name,
        uint32 version,
        bytes32 modelHash,
        bytes32 inputSchemaHash,
        bytes32 outputSchemaHash,
        uint64 outputScale,
        bytes calldata cid,
        bytes32 manifestHash
    ) external returns (bytes32 node) {
        // a CIDv1 starts with its version byte 0x01; the rest is checked by the nodes that fetch it
        if (cid.length < 4 || cid.length > MAX_CID_BYTES || cid[0] != 0x01) revert InvalidModel("cid");
        if (manifestHash == 0) revert InvalidModel("manifestHash");
        node = _set(name, version, modelHash, inputSchemaHash, outputSchemaHash, outputScale, cid, manifestHash);
        emit ModelPackageSet(node, version, cid, manifestHash);
    }

    function _set(
        string calldata name,
        uint32 version,
        bytes32 modelHash,
        bytes32 inputSchemaHash,
        bytes32 outputSchemaHash,
        uint64 outputScale,
        bytes memory cid,
        bytes32 manifestHash
    ) private returns (bytes32 node) {
        if (msg.sender != governance) revert NotGovernance();
        if (modelHash == 0) revert InvalidModel("modelHash");
        if (outputScale == 0) revert InvalidModel("outputScale");
        _checkName(bytes(name));
        node = namehash(name);
        Model storage m = models[node];
        if (version <= m.version) revert InvalidModel("version must increase");
        if (bytes(m.name).length == 0) nodeList.push(node);
        // a new version keeps the model's prices
        models[node] = Model(version, outputScale, m.fee, m.burn, modelHash, inputSchemaHash, outputSchemaHash, name, manifestHash, cid);
        emit ModelSet(node, name, version, modelHash, outputScale);
    }

    /// @notice Removes a registered model: requests for it revert UnknownModel and nodes stop serving it.
    ///         Its version is kept, so registering the name again needs a higher version.
    function removeModel(bytes32 node) external {
        if (msg.sender != governance) revert NotGovernance();
        Model storage m = models[node];
        if (m.modelHash == 0) revert UnknownModel(node);
        (uint32 version, string memory name) = (m.version, m.name);
        models[node] = Model(version, 0, 0, 0, 0, 0, 0, name, 0, "");
        emit ModelRemoved(node, name, version);
    }

    /// @notice The model's package: CID (empty when it has none), manifest hash, model hash and version.
    function packageOf(bytes32 node) external view returns (bytes memory cid, bytes32 manifestHash, bytes32 modelHash, uint32 version) {
        Model storage m = models[node];
        if (m.modelHash == 0) revert UnknownModel(node);
        return (m.cid, m.manifestHash, m.modelHash, m.version);
    }

    /// @notice Number of names ever registered (removed ones included), for `entries`.
    function modelCount() external view returns (uint256) {
        return nodeList.length;
    }

    /// @notice Up to `max` names from position `start` with what a node needs to serve them (removed
    ///         names have modelHash 0): one call per page for nodes that follow the registry.
    function entries(uint256 start, uint256 max) external view returns (Entry[] memory list) {
        uint256 end = start + max;
        if (end > nodeList.length) end = nodeList.length;
        if (start >= end) return new Entry[](0);
        list = new Entry[](end - start);
        for (uint256 i = start; i < end; i++) {
            bytes32 node = nodeList[i];
            Model storage m = models[node];
            list[i - start] = Entry(node, m.name, m.version, m.outputScale, m.modelHash, m.manifestHash, m.cid);
        }
    }

    /// @notice Sets a registered model's request prices: `fee` wei per request (to the stakers) and `burn`
    ///         DSYNC base units burned from the requester at request time.
    function setModelFees(bytes32 node, uint80 fee, uint80 burn) external {
        if (msg.sender != governance) revert NotGovernance();
        Model storage m = models[node];
        if (m.modelHash == 0) revert UnknownModel(node);
        (m.fee, m.burn) = (fee, burn);
        emit ModelFeesSet(node, fee, burn);
    }

    /// @notice The model's request prices: ETH fee (wei) and DSYNC burn (base units).
    function feesOf(bytes32 node) external view returns (uint256 fee, uint256 burn) {
        Model storage m = models[node];
        if (m.modelHash == 0) revert UnknownModel(node);
        return (m.fee, m.burn);
    }

    /// @notice What the router needs at request time: the model hash and its prices (reverts UnknownModel).
    function requestTerms(bytes32 node) external view returns (bytes32 modelHash, uint256 fee, uint256 burn) {
        Model storage m = models[node];
        modelHash = m.modelHash;
        if (modelHash == 0) revert UnknownModel(node);
        return (modelHash, m.fee, m.burn);
    }

    function resolve(bytes32 node) external view returns (uint32 version, bytes32 modelHash, bytes32 inputSchemaHash, bytes32 outputSchemaHash, uint64 outputScale) {
        Model storage m = models[node];
        if (m.modelHash == 0) revert UnknownModel(node);
        return (m.version, m.modelHash, m.inputSchemaHash, m.outputSchemaHash, m.outputScale);
    }

    function modelHashOf(bytes32 node) external view returns (bytes32) {
        bytes32 h = models[node].modelHash;
        if (h == 0) revert UnknownModel(node);
        return h;
    }

    /// @notice The fixed-point scale of the model's outputs (one storage read, for consumers' callbacks).
    function outputScaleOf(bytes32 node) external view returns (uint64 scale) {
        scale = models[node].outputScale;
        if (scale == 0) revert UnknownModel(node);
    }

    function nameOf(bytes32 node) external view returns (string memory) {
        return models[node].name;
    }
}
