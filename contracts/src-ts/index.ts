// @destra/contracts: typed ABIs, compiled artifacts, a local anvil, and deployment of the protocol.
export * from './abi.ts';
export * from './artifacts.ts';
export * from './anvil.ts';
export * from './deploy-util.ts';
export * from './deploy.ts';
export * from './committee.ts';
export * from './models.ts';
export * from './staking.ts';
export * from './governance.ts';
export * from './feeds.ts';
