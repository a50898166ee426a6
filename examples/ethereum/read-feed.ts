// Reads a feed's latest round from FeedStore (pushed by the network, verified on write).
// Usage: tsx examples/ethereum/read-feed.ts <feed name>   Environment: DESTRA_RPC_URL, DESTRA_FEED_STORE.
import { createPublicClient, http, keccak256, parseAbi, toHex, type Address } from 'viem';

const name = process.argv[2];
const rpc = process.env.DESTRA_RPC_URL;
const store = process.env.DESTRA_FEED_STORE as Address | undefined;
if (!name || !rpc || !store) throw new Error('usage: DESTRA_RPC_URL=… DESTRA_FEED_STORE=0x… read-feed.ts <feed name>');
const abi = parseAbi(['function latestRound(bytes32 feedId) view returns (int64[] values, uint64 round, uint64 timestamp, uint64 epoch)']);
const [values, round, timestamp, epoch] = await createPublicClient({ transport: http(rpc) }).readContract({ address: store, abi, functionName: 'latestRound', args: [keccak256(toHex(name))] });
console.log(`feed ${name}: round ${round}, values [${values.join(', ')}], at ${new Date(Number(timestamp) * 1000).toISOString()}, signed in epoch ${epoch}`);
