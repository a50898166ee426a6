// The generated IDL drives @coral-xyz/anchor's own Program client: its instruction builder must produce
// exactly what OracleClient sends, and its instructions must execute against the real program.
import { describe, expect, it } from 'vitest';
import anchor from '@coral-xyz/anchor';
import { SystemProgram } from '@solana/web3.js';
import { feedId, rootSigningMessage } from '@destra/protocol';
import { ORACLE_IDL, hintsFor } from '../src/index.ts';
import { feedReport, setup, signed } from './fixture.ts';

const { Program, BN } = anchor;

describe('Anchor Program client over the destra_oracle IDL', () => {
  it('builds post_report identically to OracleClient and the program accepts it', async () => {
    const f = await setup();
    // Program needs a provider only for RPC; instruction building is offline
    const program = new Program(ORACLE_IDL, { connection: {} as never, publicKey: f.admin.publicKey } as never);
    const r = feedReport({ id: feedId('anchor/program') });
    const s = signed(f.committee, r);
    const viaAnchor = await program.methods
      .postReport!(Buffer.from(s.bytes), Array.from(s.sig), Array.from(hintsFor(rootSigningMessage(s.root))), [])
      .accountsStrict({
        payer: f.admin.publicKey, config: f.client.configAddress(), result: f.client.resultAddress(r.id),
        systemProgram: SystemProgram.programId, request: null, vault: null,
      } as never)
      .instruction();
    const viaClient = f.client.postReportIx({ payer: f.admin.publicKey, report: s.bytes, id: r.id, signature: s.sig, root: s.root });
    expect(Buffer.from(viaAnchor.data).equals(Buffer.from(viaClient.data))).toBe(true);
    expect(viaAnchor.keys.slice(0, 4).map((k) => k.pubkey.toBase58())).toEqual(viaClient.keys.map((k) => k.pubkey.toBase58()));
    await f.client.send([viaAnchor], [f.admin]);
    const stored = await program.coder.accounts.decode('reportResult', Buffer.from((await f.transport.getAccount(f.client.resultAddress(r.id)))!.data));
    expect(new BN(stored.round).toString()).toBe('1');
  });

  it('names every custom error code once', () => {
    const names = (ORACLE_IDL.errors ?? []).map((e) => e.name);
    expect(names).toContain('InvalidSignature');
    expect(new Set(names).size).toBe(names.length);
    expect((ORACLE_IDL.errors ?? []).map((e) => e.code)).toEqual(names.map((_, i) => 6000 + i));
  });
});
