// Small viem helpers shared by deployment, tests and benches.
import { createPublicClient, createWalletClient, http, type Abi, type Address, type Hex, type PublicClient, type WalletClient, type Chain } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { loadArtifact } from './artifacts.ts';

export interface Clients {
  publicClient: PublicClient;
  walletClient: WalletClient;
  chain: Chain;
}

export function localClients(rpcUrl: string, privateKey: Hex, chainId = 31337): Clients {
  const chain = { ...foundry, id: chainId } as Chain;
  const transport = http(rpcUrl, { retryCount: 0 });
  return {
    chain,
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient,
    walletClient: createWalletClient({ chain, transport, account: privateKeyToAccount(privateKey) }),
  };
}

/** Deploys a compiled contract and waits for the receipt. */
export async function deployContract(clients: Clients, name: string, args: readonly unknown[] = [], value = 0n): Promise<{ address: Address; abi: Abi; gasUsed: bigint }> {
  const { abi, bytecode } = loadArtifact(name);
  const account = clients.walletClient.account!;
  const hash = await clients.walletClient.deployContract({ abi, bytecode, args: args as unknown[], account, chain: clients.chain, value });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress || receipt.status !== 'success') throw new Error(`deploying ${name} failed (tx ${hash})`);
  return { address: receipt.contractAddress, abi, gasUsed: receipt.gasUsed };
}

/** Sends a contract call and waits for a successful receipt (throws naming the function otherwise). */
export async function sendTx(clients: Clients, address: Address, abi: Abi | readonly unknown[], functionName: string, args: readonly unknown[] = [], value = 0n) {
  const hash = await clients.walletClient.writeContract({ address, abi, functionName, args, value, account: clients.walletClient.account!, chain: clients.chain } as never);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted (tx ${hash})`);
  return receipt;
}
