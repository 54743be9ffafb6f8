/** snappyjs ships no types: the one function used (a raw snappy block, at most maxLength bytes out). */
declare module "snappyjs" {
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
}
