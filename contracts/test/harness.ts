// Shared set-up for tests that call a test-only harness contract on a fresh anvil, and the shared vectors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Abi, Address } from 'viem';
import { ensureCompiled } from '../scripts/compile.ts';
import { startAnvil, type Anvil } from '../src-ts/anvil.ts';
import { deployContract, localClients, type Clients } from '../src-ts/deploy-util.ts';

/** A JSON file under test/vectors/. */
export const vector = (path: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../test/vectors/${path}`, import.meta.url)), 'utf8'));

export interface Harness {
  anvil: Anvil;
  clients: Clients;
  address: Address;
  abi: Abi;
  read(functionName: string, args: unknown[]): Promise<any>;
}

/** Compiles (if sources changed), starts anvil and deploys the named harness contract. */
export async function startHarness(name: string): Promise<Harness> {
  await ensureCompiled();
  const anvil = await startAnvil();
  const clients = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
  const { address, abi } = await deployContract(clients, name);
  return {
    anvil,
    clients,
    address,
    abi,
    read: (functionName, args) => clients.publicClient.readContract({ address, abi, functionName, args }) as Promise<any>,
  };
}
