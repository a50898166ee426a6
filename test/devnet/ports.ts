// Free TCP ports on 127.0.0.1 for nodes whose addresses must be known before they start. They are taken
// below Linux's ephemeral range (32768–60999): an OS-assigned port can be reused as the source port of an
// outgoing connection between probing and binding, which made startup fail with EADDRINUSE.
import { createServer } from 'node:net';

let nextPort = 20_000 + ((process.pid * 104_729) % 12_000);

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; ports.length < count && i < 12_000; i++) {
    const port = 20_000 + ((nextPort++ - 20_000) % 12_000);
    if (await probe(port)) ports.push(port);
  }
  if (ports.length < count) throw new Error(`only ${ports.length} of ${count} free TCP ports in 20000-31999 on 127.0.0.1`);
  return ports;
}
