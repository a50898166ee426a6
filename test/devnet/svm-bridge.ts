// Read-only HTTP bridge to the devnet's in-process LiteSVM, so node processes can watch Solana requests:
// POST /account {address} and POST /program-accounts {programId, filters}. Bound to 127.0.0.1.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublicKey, type Keypair, type TransactionInstruction } from '@solana/web3.js';
import type { AccountData, BytesFilter, SentTransaction, SolanaTransport } from '@destra/adapter-solana';

const MAX_BODY = 64 * 1024;

interface WireAccount {
  address: string;
  owner: string;
  lamports: string;
  data: string; // base64
  executable: boolean;
}

const toWire = (a: AccountData): WireAccount => ({
  address: a.address.toBase58(),
  owner: a.owner.toBase58(),
  lamports: a.lamports.toString(),
  data: Buffer.from(a.data).toString('base64'),
  executable: a.executable,
});

const fromWire = (a: WireAccount): AccountData => ({
  address: new PublicKey(a.address),
  owner: new PublicKey(a.owner),
  lamports: BigInt(a.lamports),
  data: new Uint8Array(Buffer.from(a.data, 'base64')),
  executable: a.executable,
});

export async function startSvmBridge(svm: SolanaTransport): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
          let out: unknown;
          if (req.method === 'POST' && req.url === '/account') {
            const a = await svm.getAccount(new PublicKey(String(body.address)));
            out = a ? toWire(a) : null;
          } else if (req.method === 'POST' && req.url === '/program-accounts') {
            const filters = ((body.filters as { offset: number; bytes: string }[] | undefined) ?? []).map((f) => ({ offset: f.offset, bytes: new Uint8Array(Buffer.from(f.bytes, 'base64')) }));
            out = (await svm.getProgramAccounts(new PublicKey(String(body.programId)), filters)).map(toWire);
          } else {
            res.writeHead(404).end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
        } catch (err) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** SolanaTransport over the bridge: reads only (nodes never send Solana transactions). */
export class BridgeTransport implements SolanaTransport {
  constructor(private readonly url: string) {}

  private async post<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (!res.ok) throw new Error(`SVM bridge ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async send(_ixs: TransactionInstruction[], _signers: Keypair[]): Promise<SentTransaction> {
    throw new Error('the devnet SVM bridge is read-only; transactions go through the devnet process');
  }

  async getAccount(address: PublicKey): Promise<AccountData | null> {
    const a = await this.post<WireAccount | null>('/account', { address: address.toBase58() });
    return a ? fromWire(a) : null;
  }

  async getProgramAccounts(programId: PublicKey, filters: BytesFilter[] = []): Promise<AccountData[]> {
    const list = await this.post<WireAccount[]>('/program-accounts', {
      programId: programId.toBase58(),
      filters: filters.map((f) => ({ offset: f.offset, bytes: Buffer.from(f.bytes).toString('base64') })),
    });
    return list.map(fromWire);
  }
}
