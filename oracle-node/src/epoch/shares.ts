// Key shares per epoch: written as EIP-2335 keystores (encrypted with the operator's password) with the
// public DKG outcome in the node's SQLite, and unlocked again into the round engine's ActiveKey.
import {
  PublicSharing, decryptKeystore, encryptKeystore, g2Compressed, secretKeyFromBytes, secretKeyToBytes, toHex,
  type DkgResult,
} from '@destra/protocol';
import { groupKeyVerifier, type ActiveKey } from '../round/keys.ts';
import type { NodeStore } from '../store/store.ts';

export type ShareKdf = { function: 'scrypt'; n?: number } | { function: 'pbkdf2'; c?: number };

/** Encrypts and stores the share `r` of `epoch`; returns it unlocked. */
export async function persistShare(o: { store: NodeStore; password: string; kdf: ShareKdf; network: string; epoch: number; session: Uint8Array; result: DkgResult }): Promise<ActiveKey> {
  const r = o.result;
  const keystore = encryptKeystore(secretKeyToBytes(r.share.value), o.password, {
    kdf: o.kdf,
    pubkey: toHex(g2Compressed(r.sharing.publicShare(r.index))).slice(2),
    description: `destra ${o.network} epoch ${o.epoch} key share ${r.index}/${r.n}`,
  });
  o.store.saveKeyShare({
    epoch: o.epoch,
    memberIndex: r.index,
    n: r.n,
    t: r.t,
    session: o.session,
    groupKey: r.groupPublicKey,
    commitments: r.commitments,
    qualified: r.qualified,
    disqualified: r.disqualified,
    keystore: JSON.stringify(keystore),
    createdAt: Date.now(),
  });
  return { epoch: o.epoch, index: r.index, n: r.n, t: r.t, share: r.share, sharing: r.sharing, groupKey: r.groupPublicKey, groupVerifier: await groupKeyVerifier(r.groupPublicKey) };
}

/** The stored share of `epoch`, unlocked, or undefined when this node holds none. */
export async function loadShare(store: NodeStore, password: string, epoch: number): Promise<ActiveKey | undefined> {
  const rec = store.keyShare(epoch);
  if (!rec) return undefined;
  const value = secretKeyFromBytes(decryptKeystore(rec.keystore, password));
  const sharing = PublicSharing.fromBytes(rec.commitments, rec.n);
  return { epoch: rec.epoch, index: rec.memberIndex, n: rec.n, t: rec.t, share: { index: rec.memberIndex, value }, sharing, groupKey: rec.groupKey, groupVerifier: await groupKeyVerifier(rec.groupKey) };
}
