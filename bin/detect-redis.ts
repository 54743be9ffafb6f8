/** `logforest detect --from redis://...`: the options and handler of a consumer-group run (see src/scale/consumer.ts). */
import { checkAddress, connectTransport } from "../src/scale/connect.js";
import { checkConsume, consume, CONSUME_DEFAULTS, type ConsumeOptions } from "../src/scale/consumer.js";
import type { DetectOptions } from "../src/runtime/detect.js";
import { dropWarnings } from "./detect-sinks.js";

/** The options `detect` gains for --from. */
export const REDIS_DETECT_OPTIONS = {
  from: { type: "string", describe: "consume shipped lines from this Redis (redis://HOST:PORT) as one consumer of a group" },
  stream: { type: "string", describe: "with --from: the stream name given to `logforest ship`" },
  group: { type: "string", default: "detectors", describe: "with --from: consumer group" },
  consumer: { type: "string", describe: "with --from: this consumer's name, unique in the group (default: host-pid)" },
  shards: { type: "number", default: CONSUME_DEFAULTS.shards, describe: "with --from: shards of the stream (as shipped)" },
  "lease-seconds": { type: "number", default: CONSUME_DEFAULTS.leaseSeconds, describe: "with --from: a shard's lease; taken over when not renewed for this long" },
  "claim-idle-ms": { type: "number", default: CONSUME_DEFAULTS.claimIdleMs, describe: "with --from: claim a dead owner's pending entries once idle this long" },
  "replay-lines": { type: "number", default: CONSUME_DEFAULTS.replayLines, describe: "with --from: lines replayed to rebuild a taken-over shard's windows" },
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

/**
 * Run one consumer until SIGINT/SIGTERM or --duration, through the same run loop as a file: its
 * detectors (any model kind), outputs and sinks come from `run`. The summary goes to stderr as JSON:
 * the consumer's counts, with the detection counts and the sinks beside them.
 */
export async function detectFromRedis(a: RedisDetectArgs & { json: boolean }, run: Omit<DetectOptions, "signal">, signal: AbortSignal): Promise<void> {
  if (a.stream === undefined) throw new RangeError("--from needs --stream NAME (the name given to `logforest ship`)");
  const input = run.input;
  const other = input.file !== undefined ? "input" : input.follow !== undefined ? "follow" : input.positions !== undefined ? "positions" : input.workers !== undefined ? "workers" : null;
  if (other !== null) throw new RangeError(`--from cannot be combined with --${other} (the lines come from Redis)`);
  if (typeof run.model.model !== "string") throw new RangeError("--from needs --model as a file or redis://HOST:PORT/KEY");
  const options: ConsumeOptions = {
    stream: a.stream, group: a.group, consumer: a.consumer ?? `consumer-${process.pid}`, model: run.model.model,
    shards: a.shards, leaseSeconds: a["lease-seconds"], claimIdleMs: a["claim-idle-ms"], replayLines: a["replay-lines"],
    durationSeconds: input.durationSeconds, signal,
  };
  const from = a.from ?? "";
  checkAddress(from, "--from");
  checkConsume(options); // bad options are refused before connecting
  const { model: _path, ...how } = run.model;
  const settings = { ...how, rules: run.rules };
  const transport = await connectTransport(from, "--from");
  try {
    const { summary, detection } = await consume(transport, options, { settings, outputs: run.outputs, sinks: run.sinks });
    for (const line of dropWarnings(detection.sinks)) process.stderr.write(`${line}\n`);
    process.stderr.write(`${JSON.stringify({ ...summary, detection })}\n`);
  } finally {
    await transport.close();
  }
}
