// One length-prefixed frame per direction on a libp2p stream. The length prefix is checked against the
// message type's limit before the body is buffered, so an oversized frame costs nothing to refuse.
import type { Stream } from '@libp2p/interface';
import * as lp from 'it-length-prefixed';
import { DestraNodeError } from '../errors.ts';

export async function writeFrame(stream: Stream, bytes: Uint8Array): Promise<void> {
  const framed = lp.encode.single(bytes);
  if (!stream.send(framed)) await stream.onDrain();
}

/** Reads exactly one frame of at most maxBytes, or throws (timeout, oversize, stream ended early). */
export async function readFrame(stream: Stream, maxBytes: number, timeoutMs = 10_000): Promise<Uint8Array> {
  const timer = setTimeout(() => stream.abort(new DestraNodeError('P2P_TIMEOUT', `no frame within ${timeoutMs} ms`)), timeoutMs);
  try {
    for await (const frame of lp.decode(stream, { maxDataLength: maxBytes })) {
      return frame.subarray();
    }
  } catch (err) {
    throw new DestraNodeError('P2P_FRAME', `could not read a frame on ${stream.protocol}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  throw new DestraNodeError('P2P_FRAME', `stream ${stream.protocol} ended before a frame arrived`);
}
