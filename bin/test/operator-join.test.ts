// Joining as an operator from the CLI, against anvil with the deployed protocol: `destra operator init`
// (keys) → fund → `destra operator register` (BLS key with proof of possession, self-bond, node info,
// Solana payout), read back with the adapter's operatorDirectory; the one-line errors with exit code 1.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEther, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { Keypair } from '@solana/web3.js';
import {
  decryptKeystore, encryptKeystore, g1ToEip2537, g2ToEip2537, provePossession, publicKeyOf, randomSecretKey, secretKeyFromBytes, secretKeyToBytes, toHex,
} from '@destra/protocol';
import { deployProtocol, localClients, startAnvil, transferDsync, type Anvil, type Clients, type DeployedProtocol } from '@destra/contracts';
import { CommitteeReader, encryptV3, operatorDirectory } from '@destra/adapter-ethereum';
import { dkgEncryptionKeyPair } from '@destra/oracle-node';
import { cli, inProcess, json } from './operator-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'destra-operator-join-'));
let anvil: Anvil;
let admin: Clients;
let deployed: DeployedProtocol;
let operator: Address;
/** `operator init`'s output for node1. */
let init: { keystore: string; registration: Record<string, string> };

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 4 });
  admin = localClients(anvil.rpcUrl, anvil.privateKeys[0]!);
  deployed = await deployProtocol(admin, { network: 'opjoin', committeeSize: 4 });
  operator = privateKeyToAccount(anvil.privateKeys[1]!).address;
  writeFileSync(join(dir, 'eth.json'), await encryptV3(anvil.privateKeys[1]!, 'eth-pw', 1024), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const chain = () => ['--rpc', anvil.rpcUrl, '--registry', deployed.addresses.registry];
const asOperator = () => [...chain(), '--keystore', join(dir, 'eth.json')];
const env = { DESTRA_ETH_PASSWORD: 'eth-pw', DESTRA_PASSWORD: 'bls-pw' };
const node1 = () => join(dir, 'node1');

describe('destra operator init → fund → register', () => {
  it('init makes the keys (keystore 0600) and prints the registration: EIP-2537 key, proof of possession, encryption key, peer id', async () => {
    const r = await cli(['operator', 'init', '--dir', node1(), '--scrypt-n', '1024'], env);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')).toHaveLength(1);
    init = json(r.out) as typeof init;
    const { keystore, libp2pKey, registration } = json(r.out);
    expect(statSync(keystore).mode & 0o777).toBe(0o600);
    expect(statSync(libp2pKey).mode & 0o777).toBe(0o600);
    const sk = secretKeyFromBytes(decryptKeystore(readFileSync(keystore, 'utf8'), 'bls-pw'));
    expect(registration.operatorKey).toBe(toHex(publicKeyOf(sk)));
    expect(registration.operatorKeyEip2537).toBe(toHex(g2ToEip2537(publicKeyOf(sk))));
    expect(registration.proofOfPossession).toBe(toHex(g1ToEip2537(provePossession(sk)))); // BLS signatures are deterministic
    expect(registration.encryptionKey).toBe(toHex(dkgEncryptionKeyPair(sk).publicKey));
    expect(registration.peerId).toMatch(/^12D3KooW/);
  }, 60_000);

  it('register (after funding) records the key, self-bond, node info and Solana payout; operatorDirectory reads them back', async () => {
    // fund: DSYNC for the self-bond (the anvil account already holds ETH for gas)
    await transferDsync(admin, deployed.addresses, operator, parseEther('2000'));
    const wallet = Keypair.generate().publicKey.toBase58();
    const addrs = ['/ip4/203.0.113.7/tcp/4001', '/dns4/node1.operator.example/tcp/4001'];
    const r = await cli(['operator', 'register', ...asOperator(), '--dir', node1(), '--amount', '1500', ...addrs.flatMap((a) => ['--multiaddr', a]), '--solana-payout', wallet], env);
    expect(r.code, r.err).toBe(0);
    const out = json(r.out);
    expect(out).toMatchObject({
      operator, registered: { status: 'submitted' }, bonded: '1500', selfBond: '1500', solanaPayout: wallet,
      nodeInfo: { encryptionKey: init.registration.encryptionKey, peerId: init.registration.peerId, multiaddrs: addrs, tx: { status: 'submitted' } },
    });
    const entries = await operatorDirectory(admin.publicClient, deployed.addresses.registry);
    expect(entries).toEqual([{
      address: operator,
      operatorKey: init.registration.operatorKey,
      operatorKeyEip2537: init.registration.operatorKeyEip2537,
      encryptionKey: init.registration.encryptionKey,
      peerId: init.registration.peerId,
      peerIdBytes: expect.stringMatching(/^0x0024/),
      multiaddrs: addrs,
      solanaPayout: wallet,
    }]);

    const listed = json((await inProcess(['operator', 'directory', ...chain()])).out);
    expect(listed).toEqual({ registry: deployed.addresses.registry, operators: entries });
    // an account that published nothing reads as empty
    expect(await new CommitteeReader(admin.publicClient, deployed.addresses.registry).nodeInfoOf(privateKeyToAccount(anvil.privateKeys[2]!).address))
      .toEqual({ encryptionKey: null, peerId: null, peerIdBytes: '0x', multiaddrs: [] });

    // again, later: already registered, no bond, new addresses replace the old ones
    const again = await inProcess(['operator', 'register', ...asOperator(), '--dir', node1(), '--multiaddr', '/ip4/203.0.113.8/tcp/4002'], env);
    expect(again.code, again.err).toBe(0);
    expect(json(again.out)).toMatchObject({ registered: 'already', selfBond: '1500', nodeInfo: { multiaddrs: ['/ip4/203.0.113.8/tcp/4002'] } });
    expect(json(again.out).bonded).toBeUndefined();
    expect((await operatorDirectory(admin.publicClient, deployed.addresses.registry))[0]!.multiaddrs).toEqual(['/ip4/203.0.113.8/tcp/4002']);
  }, 120_000);

  it('says what is wrong, in one line, with exit code 1', async () => {
    const other = randomSecretKey();
    mkdirSync(join(dir, 'other'), { recursive: true });
    writeFileSync(join(dir, 'other', 'operator.json'), JSON.stringify(encryptKeystore(secretKeyToBytes(other), 'bls-pw', { kdf: { function: 'pbkdf2', c: 1000 } })), { mode: 0o600 });
    copyFileSync(join(node1(), 'libp2p.key'), join(dir, 'other', 'libp2p.key'));
    const open = join(dir, 'open');
    mkdirSync(open, { recursive: true });
    copyFileSync(join(node1(), 'operator.json'), join(open, 'operator.json'));
    copyFileSync(join(node1(), 'libp2p.key'), join(open, 'libp2p.key'));
    chmodSync(join(open, 'operator.json'), 0o644);
    const ma = ['--multiaddr', '/ip4/203.0.113.7/tcp/4001'];
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['operator', 'init', '--dir', join(dir, 'empty-pw'), '--scrypt-n', '1024'], { DESTRA_PASSWORD: '' }, /password is empty; set a non-empty password in \$DESTRA_PASSWORD/],
      [['operator', 'init', '--dir', node1(), '--scrypt-n', '1024'], env, /already exists; refusing to overwrite/],
      [['operator', 'register', ...asOperator(), ...ma], env, /give the data directory .* \(--dir\)/],
      [['operator', 'register', ...asOperator(), '--dir', node1()], env, /--multiaddr/],
      [['operator', 'register', ...asOperator(), '--dir', node1(), '--multiaddr', 'node1:4001'], env, /'node1:4001' is not a multiaddr/],
      [['operator', 'register', ...asOperator(), '--dir', node1(), ...Array.from({ length: 9 }, (_, i) => ['--multiaddr', `/ip4/10.0.0.${i}/tcp/1`]).flat()], env, /give 1\.\.8 multiaddrs/],
      [['operator', 'register', ...asOperator(), '--dir', node1(), ...ma, '--peer-id', 'QmNotAPeer'], env, /is not a libp2p peer id/],
      [['operator', 'register', ...asOperator(), '--dir', join(dir, 'nowhere'), ...ma, '--operator-keystore', join(node1(), 'operator.json')], env, /no libp2p key at/],
      [['operator', 'register', ...asOperator(), '--dir', node1(), ...ma], { ...env, DESTRA_PASSWORD: 'wrong' }, /password|checksum/i],
      [['operator', 'register', ...asOperator(), '--dir', open, ...ma], env, /accessible by other users.*chmod 600/],
      [['operator', 'register', ...asOperator(), '--dir', join(dir, 'other'), ...ma], env, /registered with a different BLS key/],
      [['operator', 'register', ...asOperator(), '--dir', node1(), ...ma, '--amount', '100000'], env, /less than the 100000 to bond: fund it first/],
      [['operator', 'register', ...chain(), '--key-env', 'K', '--dir', node1(), ...ma], { ...env, K: generatePrivateKey() }, /holds no ETH for gas: fund it first/],
      [['operator', 'register', ...asOperator(), '--dir', node1(), ...ma, '--solana-payout', 'nope0'], env, /Solana address/],
    ];
    // a fresh account: nothing is sent when the node info is out of bounds (checked before registering)
    const fresh = anvil.privateKeys[3]!;
    cases.push([['operator', 'register', ...chain(), '--key-env', 'K', '--operator-keystore', join(dir, 'other', 'operator.json'), ...Array.from({ length: 9 }, (_, i) => ['--multiaddr', `/ip4/10.0.0.${i}/tcp/1`]).flat()], { ...env, K: fresh }, /give 1\.\.8 multiaddrs/]);
    for (const [args, e, msg] of cases) {
      const r = await inProcess(args, e);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(r.err.split('\n').length, r.err).toBe(1);
    }
    expect(existsSync(join(dir, 'empty-pw', 'operator.json'))).toBe(false);
    expect(await admin.publicClient.getTransactionCount({ address: privateKeyToAccount(fresh).address })).toBe(0);
  }, 120_000);
});
