/**
 * The consumers' model: a file, or a Redis hash {generation, model} that `ship --publish-model`
 * writes, so that one retraining reaches every consumer (each checks the generation between
 * batches and reloads a newer one).
 */
import type { Redis } from "ioredis";
import { IsolationForest } from "../forest/forest.js";
import { closeRedis, connectRedis, parseRedisUrl } from "./redis.js";

/** The model: from a file (fixed), or from a Redis hash {generation, model} checked between batches. */
export class ModelSource {
  private constructor(
    public forest: IsolationForest, public generation: number,
    private readonly redis: Redis | null, private readonly key: string,
  ) {}

  static async open(spec: string, redis: Redis): Promise<ModelSource> {
    if (!spec.startsWith("redis://")) return new ModelSource(IsolationForest.load(spec), 0, null, "");
    const addr = parseRedisUrl(spec, "--model");
    if (addr.key === "") throw new RangeError(`--model redis://HOST:PORT/KEY needs a KEY, got ${JSON.stringify(spec)}`);
    const got = await loadFromRedis(redis, addr.key);
    if (got === null) throw new Error(`no model at Redis key ${addr.key} (publish one with: logforest ship --publish-model FILE --to ${spec})`);
    return new ModelSource(got.forest, got.generation, redis, addr.key);
  }

  /** Whether a newer generation was published (it is loaded then). */
  async refresh(): Promise<boolean> {
    if (this.redis === null) return false;
    const g = Number(await this.redis.hget(this.key, "generation"));
    if (!(g > this.generation)) return false;
    const got = await loadFromRedis(this.redis, this.key);
    if (got === null) return false;
    this.forest = got.forest;
    this.generation = got.generation;
    return true;
  }
}

async function loadFromRedis(redis: Redis, key: string): Promise<{ forest: IsolationForest; generation: number } | null> {
  const [gen, bytes] = await Promise.all([redis.hget(key, "generation"), redis.hgetBuffer(key, "model")]);
  if (gen === null || bytes === null) return null;
  return { forest: IsolationForest.fromBytes(new Uint8Array(bytes)), generation: Number(gen) };
}

/** Publish a model file to a Redis hash {generation, model}, raising the generation by one. */
export async function publishModel(to: string, file: string): Promise<number> {
  const addr = parseRedisUrl(to, "--to");
  if (addr.key === "") throw new RangeError(`--to redis://HOST:PORT/KEY needs a KEY to publish a model to, got ${JSON.stringify(to)}`);
  const forest = IsolationForest.load(file); // refuse a damaged file before anyone loads it
  const redis = await connectRedis(addr);
  try {
    const res = await redis.multi().hset(addr.key, "model", Buffer.from(forest.toBytes())).hincrby(addr.key, "generation", 1).exec();
    const g = res?.[1]?.[1];
    return Number(g);
  } finally {
    await closeRedis(redis);
  }
}
