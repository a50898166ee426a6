// HTTP routes of the feed service: GET /v1/feeds (what this node follows) and GET
// /v1/feeds/blocks/:number/tx/:hash (a scored transaction with its Merkle proof, the block's root and the
// committee's signature: checkable off chain or with BlockScores.verifyTxScore).
import { toHex } from '@destra/protocol';
import type { Hono } from 'hono';
import type { FeedService } from './service.ts';

const json = (status: number, error: string, message: string) => ({ status, body: { error, message } });

export function registerFeedRoutes(app: Hono, feeds: () => FeedService | undefined, groupKey: (epoch: number) => Uint8Array | undefined): void {
  const unavailable = json(404, 'NO_FEEDS', 'this node runs no on-chain feeds (chain-control mode with control.feedRegistry)');
  app.get('/v1/feeds', (c) => {
    const f = feeds();
    if (!f) return c.json(unavailable.body, 404);
    return c.json(f.view());
  });
  app.get('/v1/feeds/blocks/:number/tx/:hash', async (c) => {
    const f = feeds();
    if (!f) return c.json(unavailable.body, 404);
    const number = c.req.param('number');
    const hash = c.req.param('hash');
    if (!/^[0-9]{1,19}$/.test(number) || BigInt(number) > 2n ** 63n) return c.json({ error: 'BAD_BLOCK', message: 'number must be a decimal block number' }, 400);
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) return c.json({ error: 'BAD_TX_HASH', message: 'hash must be 0x followed by 64 hex digits' }, 400);
    const feed = c.req.query('feed');
    if (feed !== undefined && (feed.length === 0 || feed.length > 80)) return c.json({ error: 'BAD_FEED', message: 'feed must be a feed name or id (1..80 characters)' }, 400);
    const proof = await f.txScore(BigInt(number), hash, feed);
    if (!proof) {
      return c.json({ error: 'NOT_FOUND', message: `no scored transaction ${hash} in block ${number} here (blocks are kept for a while after scoring; it may not be confirmed yet, or not be in that block)` }, 404);
    }
    const gk = groupKey(proof.epoch);
    return c.json({ ...proof, certified: proof.signature !== null, groupKey: gk ? toHex(gk) : null });
  });
}
