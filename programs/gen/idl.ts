// Generates programs/idl/destra_oracle.json and destra_consumer.json: Anchor (spec 0.1.0) IDLs matching the
// hand-written programs' layouts, so @coral-xyz/anchor's coders and Program client build and decode them.
// Run: npx tsx programs/gen/idl.ts
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const disc = (kind: string, name: string): number[] => Array.from(createHash('sha256').update(`${kind}:${name}`).digest().subarray(0, 8));
const arr = (n: number, t = 'u8') => ({ array: [t, n] });
type Acc = { name: string; docs?: string[]; writable?: boolean; signer?: boolean; optional?: boolean; address?: string };
const ix = (name: string, accounts: Acc[], args: { name: string; type: unknown }[]) => ({ name, discriminator: disc('global', name), accounts, args });
const struct = (name: string, fields: [string, unknown][]) => ({ name, type: { kind: 'struct', fields: fields.map(([n, t]) => ({ name: n, type: t })) } });
const SYSTEM = '11111111111111111111111111111111';
const UPGRADEABLE_LOADER = 'BPFLoaderUpgradeab1e11111111111111111111111';

export const ORACLE_PROGRAM_ID = 'DesTRAoRac1e1111111111111111111111111111111';

const oracle = {
  address: ORACLE_PROGRAM_ID,
  metadata: { name: 'destra_oracle', version: '0.1.0', spec: '0.1.0', description: 'Destra oracle: BLS12-381 committee reports verified with SIMD-0388 syscalls' },
  instructions: [
    ix('initialize', [
      { name: 'admin', writable: true, signer: true }, { name: 'config', writable: true }, { name: 'vault', writable: true },
      { name: 'system_program', address: SYSTEM },
      { name: 'program_data', docs: [`ProgramData of this program (PDA of the program id under ${UPGRADEABLE_LOADER}); admin must be its upgrade authority`] },
    ], [
      { name: 'domain', type: arr(32) }, { name: 'cluster_id', type: arr(32) }, { name: 'epoch', type: 'u64' },
      { name: 'threshold', type: 'u16' }, { name: 'committee_size', type: 'u16' }, { name: 'group_key', type: arr(192) },
      { name: 'request_fee', type: 'u64' }, { name: 'request_timeout_slots', type: 'u64' }, { name: 'payouts_root', type: arr(32) },
    ]),
    ix('handover', [{ name: 'config', writable: true }], [
      { name: 'handover', type: 'bytes' }, { name: 'signature', type: arr(48) }, { name: 'hints', type: arr(336) },
    ]),
    ix('post_report', [
      { name: 'payer', writable: true, signer: true }, { name: 'config', writable: true }, { name: 'result', writable: true },
      { name: 'system_program', address: SYSTEM }, { name: 'request', writable: true, optional: true },
      { name: 'vault', writable: true, optional: true },
    ], [
      { name: 'report', type: 'bytes' }, { name: 'signature', type: arr(48) }, { name: 'hints', type: arr(336) },
      { name: 'proof', type: { vec: arr(32) } },
    ]),
    ix('verify_root', [
      { name: 'payer', writable: true, signer: true }, { name: 'config' }, { name: 'verified_root', writable: true },
      { name: 'system_program', address: SYSTEM },
    ], [
      { name: 'root', type: arr(32) }, { name: 'epoch', type: 'u64' }, { name: 'signature', type: arr(48) }, { name: 'hints', type: arr(336) },
    ]),
    ix('post_batched_report', [
      { name: 'payer', writable: true, signer: true }, { name: 'config', writable: true }, { name: 'verified_root' },
      { name: 'result', writable: true }, { name: 'system_program', address: SYSTEM }, { name: 'request', writable: true, optional: true },
      { name: 'vault', writable: true, optional: true },
    ], [{ name: 'report', type: 'bytes' }, { name: 'proof', type: { vec: arr(32) } }]),
    ix('request_inference', [
      { name: 'requester', writable: true, signer: true }, { name: 'config', writable: true }, { name: 'request', writable: true },
      { name: 'vault', writable: true }, { name: 'system_program', address: SYSTEM },
    ], [{ name: 'nonce', type: 'u64' }, { name: 'model_hash', type: arr(32) }, { name: 'input', type: 'bytes' }]),
    ix('verify_signature', [{ name: 'config' }], [
      { name: 'message', type: arr(33) }, { name: 'signature', type: arr(48) }, { name: 'hints', type: arr(336) },
    ]),
    ix('distribute_fees', [
      { name: 'config' }, { name: 'vault', writable: true },
      // then, as remaining accounts, the payee of every entry with a non-zero payee, in table order (writable)
    ], [{ name: 'epoch', type: 'u64' }, { name: 'payouts', type: { vec: { defined: { name: 'PayoutEntry' } } } }]),
    ix('refund', [{ name: 'requester', writable: true, signer: true }, { name: 'request', writable: true }], []),
    ix('set_failure_fee', [{ name: 'admin', signer: true }, { name: 'config', writable: true }], [{ name: 'failure_fee_bps', type: 'u16' }]),
  ],
  accounts: ['OracleConfig', 'FeeVault', 'ReportResult', 'InferenceRequest', 'VerifiedRoot'].map((name) => ({ name, discriminator: disc('account', name) })),
  errors: [
    'InvalidInstruction', 'MissingAccount', 'TooManyAccounts', 'MissingSignature', 'NotWritable', 'WrongAccount', 'WrongOwner',
    'AlreadyInitialized', 'NotInitialized', 'Unauthorized', 'MalformedReport', 'WrongDomain', 'WrongEpoch', 'WrongChainType',
    'WrongCluster', 'WrongProgram', 'Replay', 'StaleRound', 'RequestMismatch', 'InputHashMismatch', 'RequestNotPending', 'BadProof',
    'BadSignatureEncoding', 'BadHints', 'InvalidSignature', 'InvalidGroupKey', 'MalformedHandover', 'InvalidInput',
    'InsufficientFunds', 'CpiFailed', 'RootNotVerified', 'NotUpgradeAuthority', 'RequestNotExpired', 'InvalidFee',
    'PayoutsMismatch', 'NothingToDistribute',
  ].map((name, i) => ({ code: 6000 + i, name })),
  types: [
    struct('OracleConfig', [
      ['admin', 'pubkey'], ['domain', arr(32)], ['cluster_id', arr(32)], ['epoch', 'u64'], ['threshold', 'u16'],
      ['committee_size', 'u16'], ['group_key', arr(192)], ['request_fee', 'u64'], ['bump', 'u8'], ['vault_bump', 'u8'],
      ['reports_posted', 'u64'], ['shares_root', arr(32)], ['members_root', arr(32)], ['request_timeout_slots', 'u64'],
      ['failure_fee_bps', 'u16'], ['payouts_root', arr(32)], ['request_seq', 'u64'],
    ]),
    struct('FeeVault', [['total_collected', 'u64'], ['total_distributed', 'u64'], ['bump', 'u8']]),
    struct('PayoutEntry', [['payee', 'pubkey'], ['weight', 'u64']]),
    struct('ReportResult', [
      ['id', arr(32)], ['kind', 'u8'], ['epoch', 'u64'], ['model_hash', arr(32)], ['input_hash', arr(32)], ['timestamp', 'u64'],
      ['round', 'u64'], ['output_count', 'u16'], ['outputs', arr(64, 'i64')], ['posted_slot', 'u64'], ['report_leaf', arr(32)], ['bump', 'u8'],
      ['status', 'u8'],
    ]),
    struct('InferenceRequest', [
      ['requester', 'pubkey'], ['nonce', 'u64'], ['model_hash', arr(32)], ['input_hash', arr(32)], ['fee', 'u64'], ['status', 'u8'],
      ['created_slot', 'u64'], ['input_len', 'u16'], ['input', arr(512)], ['bump', 'u8'], ['deadline_slot', 'u64'], ['seq', 'u64'],
    ]),
    struct('VerifiedRoot', [['root', arr(32)], ['epoch', 'u64'], ['verified_slot', 'u64'], ['bump', 'u8']]),
  ],
};

export const CONSUMER_PROGRAM_ID = 'DesTRAConsumer11111111111111111111111111111';
const consumer = {
  address: CONSUMER_PROGRAM_ID,
  metadata: { name: 'destra_consumer', version: '0.1.0', spec: '0.1.0', description: 'Example lending pool that sets its collateral factor from a Destra risk score' },
  instructions: [
    ix('init_pool', [{ name: 'admin', writable: true, signer: true }, { name: 'pool', writable: true }, { name: 'system_program', address: SYSTEM }], [
      { name: 'oracle_program', type: 'pubkey' }, { name: 'feed_id', type: arr(32) }, { name: 'max_age_secs', type: 'u64' },
    ]),
    ix('request_risk', [
      { name: 'admin', writable: true, signer: true }, { name: 'pool' }, { name: 'oracle_program' }, { name: 'oracle_config', writable: true },
      { name: 'request', writable: true }, { name: 'vault', writable: true }, { name: 'system_program', address: SYSTEM },
    ], [{ name: 'nonce', type: 'u64' }, { name: 'model_hash', type: arr(32) }, { name: 'input', type: 'bytes' }]),
    ix('apply_result', [{ name: 'pool', writable: true }, { name: 'result' }], []),
  ],
  accounts: [{ name: 'LendingPool', discriminator: disc('account', 'LendingPool') }],
  errors: [],
  types: [
    struct('LendingPool', [
      ['admin', 'pubkey'], ['oracle_program', 'pubkey'], ['feed_id', arr(32)], ['max_age_secs', 'u64'], ['collateral_factor_bps', 'u16'],
      ['last_round', 'u64'], ['last_timestamp', 'u64'], ['risk_score', 'i64'], ['bump', 'u8'],
    ]),
  ],
};

const dir = (f: string) => fileURLToPath(new URL(`../idl/${f}`, import.meta.url));
writeFileSync(dir('destra_oracle.json'), `${JSON.stringify(oracle, null, 2)}\n`);
writeFileSync(dir('destra_consumer.json'), `${JSON.stringify(consumer, null, 2)}\n`);
console.log('wrote programs/idl/destra_oracle.json, destra_consumer.json');
