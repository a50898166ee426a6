// Child process for process-policy.test.ts: installs the node's rejection policy, then leaves a
// rejection unhandled, as a request-scoped bug would. The process must log it, count it and go on.
import { pino } from 'pino';
import { installRejectionPolicy } from '../src/process-policy.ts';

let count = 0;
installRejectionPolicy(pino({ level: 'error' }), () => count++);
void Promise.reject(new Error('request-scoped failure nobody awaited'));
setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ alive: true, count })}\n`);
  process.exit(0);
}, 200);
