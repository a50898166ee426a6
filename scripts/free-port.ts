// TCP ports on 127.0.0.1 for listeners whose address must be known before they start (anvil, nodes).
// Ports come from below Linux's ephemeral range (32768–60999): an OS-assigned port can be reused as the
// source port of any outgoing connection (parallel test files) between probing and binding, which made
// startup fail with EADDRINUSE. One counter per process, starting at a pid-derived offset, so parallel
// processes probe different ports first.
import { createServer } from 'node:net';

const FIRST = 12_000;
const COUNT = 20_000; // 12000–31999
let next = FIRST + ((process.pid * 7919) % COUNT);

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let i = 0; i < COUNT; i++) {
    const port = FIRST + ((next++ - FIRST) % COUNT);
    if (await probe(port)) return port;
  }
  throw new Error(`no free TCP port in ${FIRST}-${FIRST + COUNT - 1} on 127.0.0.1`);
}

export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  return ports;
}
