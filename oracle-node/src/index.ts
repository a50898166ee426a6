// @destra/oracle-node: the oracle node (startNode), its libp2p host factory (reused by the aggregator),
// config schema, SQLite state and HTTP API.
export * from './errors.ts';
export { startNode, OracleNode, type NodeOverrides, type RequestSource } from './node.ts';
export { parseNodeConfig, loadNodeConfig, nodeConfigSchema, type NodeConfig, type NodeConfigInput } from './config.ts';
export { DestraHost, createDestraHost, wireTopicValidator, type HostOptions, type PeerInfo } from './p2p/host.ts';
export { Registry, type Registration } from './p2p/registry.ts';
export { readFrame, writeFrame } from './p2p/framing.ts';
export { checkMultiaddr, checkPrivateFile, dkgEncryptionKeyPair, initOperatorDir, peerIdBytes, peerIdOfKeyFile, loadOrCreateLibp2pKey, operatorRegistration, readPassword, unlockOperatorKey } from './keys.ts';
export type { OperatorRegistration } from './keys.ts';
export { NodeStore } from './store/store.ts';
export { NodeMetrics } from './metrics.ts';
export { installRejectionPolicy } from './process-policy.ts';
export { RoundEngine, type ChainRequest, type FeedConfig, type RoundRecord } from './round/engine.ts';
export type { Inferencer, InferenceResult } from './round/inference.ts';
export type { ActiveKey } from './round/keys.ts';
export { dkgSession } from './dkg/session.ts';
export { DkgRunner } from './dkg/runner.ts';
export { buildApi, startApi } from './api/server.ts';
export { openApiDocument } from './api/openapi.ts';
export { ethereumSource, ethereumSourceSchema, chainRequestFromEthereum, SqliteCheckpointStore, type EthereumSourceConfig } from './chains/ethereum.ts';
export { solanaSource, solanaSourceFromConfig, solanaSourceSchema, rpcSlotTime, chainRequestFromSolana, type SolanaSourceOptions } from './chains/solana.ts';
export { EpochMachine, handoverMismatch, type EpochAction, type EpochEvent } from './epoch/machine.ts';
export { EpochManager } from './epoch/manager.ts';
export { RegistryChainView, controlSchema, type ControlConfig } from './epoch/chain-control.ts';
export type { ChainSnapshot, ChainViewReader } from './epoch/chain-view.ts';
export { committeeThreshold, memberIndexOf, type EpochCommittee, type CommitteeMember } from './epoch/committee.ts';
