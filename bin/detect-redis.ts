/** `logforest detect --from redis://...`: the options and handler of a consumer-group run (see src/scale/consumer.ts). */
import { checkAddress, connectTransport } from "../src/scale/connect.js";
import { checkConsume, consume, CONSUME_DEFAULTS, type ConsumeOptions } from "../src/scale/consumer.js";
import type { Rules } from "../src/streams/http/rules.js";

/** The options `detect` gains for --from. */
export const REDIS_DETECT_OPTIONS = {
  from: { type: "string", describe: "consume shipped lines from this Redis (redis://HOST:PORT) as one consumer of a group" },
  stream: { type: "string", describe: "with --from: the stream name given to `logforest ship`" },
  group: { type: "string", default: "detectors", describe: "with --from: consumer group" },
  consumer: { type: "string", describe: "with --from: this consumer's name, unique in the group (default: host-pid)" },
  shards: { type: "number", default: CONSUME_DEFAULTS.shards, describe: "with --from: shards of the stream (as shipped)" },
  "lease-seconds": { type: "number", default: CONSUME_DEFAULTS.leaseSeconds, describe: "with --from: a shard's lease; taken over when not renewed for this long" },
  "claim-idle-ms": { type: "number", default: CONSUME_DEFAULTS.claimIdleMs, describe: "with --from: claim a dead owner's pending entries once idle this long" },
  "replay-lines": { type: "number", default: CONSUME_DEFAULTS.replayLines, describe: "with --from: entries replayed to rebuild a taken-over shard's windows" },
} as const;

/** The parsed values of REDIS_DETECT_OPTIONS. */
export interface RedisDetectArgs {
  from?: string;
  stream?: string;
  group: string;
  consumer?: string;
  shards: number;
  "lease-seconds": number;
  "claim-idle-ms": number;
  "replay-lines": number;
}

/** Run one consumer until SIGINT/SIGTERM or --duration; the summary goes to stderr as JSON. */
export async function detectFromRedis(
  a: RedisDetectArgs & { model: string; alerts?: string; duration?: number; format: string; input?: string; follow?: string[]; scores?: string; retrain: boolean; dashboard?: unknown },
  rules: Rules | undefined,
): Promise<void> {
  if (a.stream === undefined) throw new RangeError("--from needs --stream NAME (the name given to `logforest ship`)");
  const other = (["input", "follow", "scores", "dashboard"] as const).find((k) => a[k] !== undefined) ?? (a.retrain ? "retrain" : null);
  if (other !== null) throw new RangeError(`--from cannot be combined with --${other} (the lines come from Redis; retrain once and publish the model with ship --publish-model)`);
  if (a.format === "csv") throw new RangeError("--from scores HTTP logs: --format csv is not supported there");
  const stop = new AbortController();
  const options: ConsumeOptions = {
    stream: a.stream, group: a.group, consumer: a.consumer ?? `consumer-${process.pid}`, model: a.model,
    shards: a.shards, leaseSeconds: a["lease-seconds"], claimIdleMs: a["claim-idle-ms"], replayLines: a["replay-lines"],
    alerts: a.alerts, rules, format: a.format as "auto", durationSeconds: a.duration, signal: stop.signal,
  };
  const from = a.from ?? "";
  checkAddress(from, "--from");
  checkConsume(options); // bad options are refused before connecting
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const transport = await connectTransport(from, "--from");
    try {
      process.stderr.write(`${JSON.stringify(await consume(transport, options))}\n`);
    } finally {
      await transport.close();
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
