/** JSON with bigints as decimal strings and bytes as hex: the output lines of `destra eth ...`. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `0x${Buffer.from(v).toString('hex')}` : v));
}
