/**
 * Endpoint host names, resolved as `wg` does before it talks UAPI: the protocol itself takes numeric
 * addresses only. A name resolves to its first address, preferring IPv4 as `wg` does when both exist.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** "host:port" or "[v6]:port" with a name or a literal; resolves to a numeric endpoint text. */
export async function resolveEndpoint(text: string): Promise<string> {
  if (text.startsWith('[')) return text;
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw new TypeError(`invalid endpoint ${JSON.stringify(text)}: expected host:port`);
  const host = text.slice(0, colon);
  const port = text.slice(colon + 1);
  if (isIP(host) !== 0) return text;
  let address: string;
  let family: number;
  try {
    const all = await lookup(host, { all: true });
    const pick = all.find((a) => a.family === 4) ?? all[0];
    if (pick === undefined) throw new Error('no addresses');
    address = pick.address;
    family = pick.family;
  } catch (err) {
    throw new TypeError(`cannot resolve endpoint host ${JSON.stringify(host)}: ${(err as Error).message}`);
  }
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
