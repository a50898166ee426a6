// Reads what the destra oracle program holds on Solana over plain JSON-RPC: its config (epoch, committee,
// group key), the result account of a request (written only after the program verified the committee's
// BLS signature with the SIMD-0388 syscalls) and a feed's latest round.
// Usage: tsx examples/solana/read.ts <request id hex> <feed name>   Environment: DESTRA_SOLANA_RPC.
import { Connection } from '@solana/web3.js';
import { OracleClient, RpcTransport } from '@destra/adapter-solana';
import { feedId, fromHex, toHex } from '@destra/protocol';

const [request, feed] = process.argv.slice(2);
const rpc = process.env.DESTRA_SOLANA_RPC;
if (!rpc || !request || !feed) throw new Error('usage: DESTRA_SOLANA_RPC=… read.ts <request id hex> <feed name>');
const oracle = new OracleClient(new RpcTransport(new Connection(rpc, 'confirmed')));

const config = await oracle.fetchConfig();
if (!config) throw new Error(`the oracle program is not initialised on ${rpc}`);
console.log(`epoch ${config.epoch}: ${config.threshold}-of-${config.committeeSize}, group key ${toHex(config.groupKey).slice(0, 18)}…`);

const result = await oracle.fetchResult(fromHex(request));
if (!result) throw new Error(`no result account for ${request} yet`);
console.log(`result of ${request.slice(0, 18)}…: ${result.statusName}, output [${result.output.join(', ')}], epoch ${result.epoch}, slot ${result.postedSlot}`);

const round = await oracle.fetchResult(feedId(feed));
if (!round) throw new Error(`feed ${feed} has no round on Solana yet`);
console.log(`feed ${feed}: round ${round.round}, values [${round.output.join(', ')}], at ${new Date(Number(round.timestamp) * 1000).toISOString()}`);
