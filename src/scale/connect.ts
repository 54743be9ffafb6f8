/**
 * Which transport an address names, and connecting to it: the one place in src/scale that
 * picks an implementation of transport.ts. Only redis:// today; a kafka:// address would
 * be one more branch here.
 */
import { RedisTransport } from "./redis-transport.js";
import { parseRedisUrl } from "./redis.js";
import type { StreamTransport } from "./transport.js";

/** Check a transport address (RangeError naming `option` otherwise); the key after it ("" when none). */
export function checkAddress(url: string, option: string): { key: string } {
  return { key: parseRedisUrl(url, option).key };
}

/** Connect to the transport at `url`; an Error naming the server when it does not answer within `timeoutMs`. */
export async function connectTransport(url: string, option: string, timeoutMs = 5000): Promise<StreamTransport> {
  return RedisTransport.connect(parseRedisUrl(url, option), timeoutMs);
}
