// Child process for the kill/restart test: starts a node from a config file, injects one chain request
// once the key share exists, prints a JSON line when its partial is signed, then keeps running until killed.
import { readFileSync } from 'node:fs';
import { evmDestination } from '@destra/protocol';
import { pino } from 'pino';
import { startNode } from '../src/node.ts';
import { ArithmeticModel } from './fixtures.ts';

const [configPath, requestIdHex] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath!, 'utf8'));
const node = await startNode(config, { inference: new ArithmeticModel(), log: pino({ level: 'warn' }) });
const key = await node.ready();
const requestId = new Uint8Array(Buffer.from(requestIdHex!, 'hex'));
node.engine.onChainRequest({
  source: 'ethereum:31337',
  requestId,
  model: 'arith',
  input: new Uint8Array([9, 8, 7]),
  timestamp: 1_700_000_000,
  destination: evmDestination(31337n, new Uint8Array(20).fill(0xab)),
  cursor: 42n,
});
for (;;) {
  const p = node.store.ownPartial(requestId, 0);
  if (p?.signature) {
    process.stdout.write(`${JSON.stringify({ event: 'signed', signature: Buffer.from(p.signature).toString('hex'), groupKey: Buffer.from(key.groupKey).toString('hex') })}\n`);
    break;
  }
  await new Promise((r) => setTimeout(r, 20));
}
setInterval(() => undefined, 1000);
