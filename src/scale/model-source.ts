/**
 * The consumers' model: a file, or a model the transport keeps under a key with a
 * generation (Redis: a hash {generation, model} that `ship --publish-model` writes), so that
 * one retraining reaches every consumer (each checks the generation between batches and
 * reloads a newer one).
 */
import { IsolationForest } from "../forest/forest.js";
import { checkAddress, connectTransport } from "./connect.js";
import type { ModelStore } from "./transport.js";

/** The model: from a file (fixed), or from the transport's model store, checked between batches. */
export class ModelSource {
  private constructor(
    public forest: IsolationForest, public generation: number,
    private readonly store: ModelStore | null, private readonly key: string,
  ) {}

  /** `spec` is a file, or an address of the transport with a KEY (redis://HOST:PORT/KEY). */
  static async open(spec: string, store: ModelStore): Promise<ModelSource> {
    const key = store.keyOf(spec);
    if (key === null) return new ModelSource(IsolationForest.load(spec), 0, null, "");
    if (key === "") throw new RangeError(`--model redis://HOST:PORT/KEY needs a KEY, got ${JSON.stringify(spec)}`);
    const got = await store.load(key);
    if (got === null) throw new Error(`no model at Redis key ${key} (publish one with: logforest ship --publish-model FILE --to ${spec})`);
    return new ModelSource(IsolationForest.fromBytes(got.bytes), got.generation, store, key);
  }

  /** Whether a newer generation was published (it is loaded then). */
  async refresh(): Promise<boolean> {
    if (this.store === null) return false;
    const g = await this.store.generation(this.key);
    if (!(g > this.generation)) return false;
    const got = await this.store.load(this.key);
    if (got === null) return false;
    this.forest = IsolationForest.fromBytes(got.bytes);
    this.generation = got.generation;
    return true;
  }
}

/** Publish a model file under the key of `to` (redis://HOST:PORT/KEY), raising the generation by one. */
export async function publishModel(to: string, file: string): Promise<number> {
  const { key } = checkAddress(to, "--to");
  if (key === "") throw new RangeError(`--to redis://HOST:PORT/KEY needs a KEY to publish a model to, got ${JSON.stringify(to)}`);
  const forest = IsolationForest.load(file); // refuse a damaged file before anyone loads it
  const transport = await connectTransport(to, "--to");
  try {
    return await transport.models.publish(key, forest.toBytes());
  } finally {
    await transport.close();
  }
}
