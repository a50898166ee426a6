// Bytecode and ABI of the compiled contracts (contracts/out, produced by scripts/compile.ts).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Abi, Hex } from 'viem';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'out');

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

export class ArtifactMissingError extends Error {
  override name = 'ArtifactMissingError';
}

export function loadArtifact(name: string): Artifact {
  const file = join(outDir, `${name}.json`);
  if (!existsSync(file)) throw new ArtifactMissingError(`contracts/out/${name}.json is missing: run \`npm run bootstrap\` (or npx tsx contracts/scripts/compile.ts)`);
  return JSON.parse(readFileSync(file, 'utf8')) as Artifact;
}

/** The deployable protocol contracts, by name. */
export const PROTOCOL_CONTRACTS = ['CommitteeRegistry', 'ModelRegistry', 'OracleRouter', 'FeedStore', 'DestraGovernor', 'RiskLendingMarket'] as const;
export type ProtocolContract = (typeof PROTOCOL_CONTRACTS)[number];

/** Every protocol contract's artifact; throws ArtifactMissingError naming the first one not compiled. */
export function loadArtifacts(): Record<ProtocolContract, Artifact> {
  return Object.fromEntries(PROTOCOL_CONTRACTS.map((n) => [n, loadArtifact(n)])) as Record<ProtocolContract, Artifact>;
}
