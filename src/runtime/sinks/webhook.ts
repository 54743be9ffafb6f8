/**
 * `--webhook URL`: each alert POSTed as JSON to an http:// or https:// URL, through a
 * DeliveryQueue (bounded, retrying, never blocking scoring). The body is the alert's JSON
 * line exactly (format "json") or a Slack-compatible message (format "slack", see slack.ts).
 *
 * A 2xx answer is delivered; 408, 429 and 5xx answers, timeouts and network errors are tried
 * again; any other answer (redirects are not followed) and a refused certificate fail at once.
 * Messages never repeat the URL: a Slack webhook's path is its secret.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { StreamAlert } from "../../streams/stream.js";
import { DeliveryError, DeliveryQueue, resolveQueueOptions, type QueueOptions, type SinkCounts } from "./queue.js";
import { slackMessage } from "./slack.js";

/** What every alert sink offers the run loop. */
export interface AlertSink {
  readonly name: string;
  /** Queue one alert; returns at once. */
  offer(alert: StreamAlert): void;
  /** Counts so far (for /metrics). */
  counts(): SinkCounts;
  /** Drain for up to drainMs, then give up on the rest; the final counts. */
  close(drainMs: number): Promise<SinkCounts>;
}

/** Body formats of the webhook. */
export const WEBHOOK_FORMATS = ["json", "slack"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Options of a webhook sink. */
export interface WebhookOptions extends Partial<QueueOptions> {
  url: string;
  /** "json" (default): the alert object; "slack": {text, blocks}. */
  format?: WebhookFormat;
  /** One try's limit, connection to last byte of the answer, in ms. Default 5000. */
  timeoutMs?: number;
}

/** Node's codes for a certificate that will not verify: trying again cannot help. */
const TLS_REFUSALS = /^(ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(GET|VERIFY)_|ERR_SSL_)/;

/** Check a webhook URL: http or https, parseable; a RangeError naming --webhook otherwise. */
export function webhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RangeError(`--webhook must be an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RangeError(`--webhook must be an http:// or https:// URL, got the scheme ${JSON.stringify(url.protocol)}`);
  }
  return url;
}

/** Start a webhook sink (no I/O until the first alert). */
export function webhookSink(o: WebhookOptions, onProblem?: (message: string) => void): AlertSink {
  const url = webhookUrl(o.url);
  const format = o.format ?? "json";
  if (!WEBHOOK_FORMATS.includes(format)) throw new RangeError(`--webhook-format must be one of ${WEBHOOK_FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
  const timeoutMs = o.timeoutMs ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) throw new RangeError(`--webhook-timeout must be in [0.001, 600] seconds, got ${timeoutMs / 1000}`);
  const options = resolveQueueOptions(o, { capacity: "--webhook-queue", attempts: "--webhook-retries (plus the first try)" });
  const https = url.protocol === "https:";
  // Kept-alive connections, no more than the workers.
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: options.concurrency }) : new HttpAgent({ keepAlive: true, maxSockets: options.concurrency });
  const post: (payload: string, signal: AbortSignal) => Promise<void> = (payload, signal) =>
    new Promise((resolve, reject) => {
      const body = Buffer.from(payload);
      const req = (https ? httpsRequest : httpRequest)(url, {
        method: "POST", agent, signal,
        headers: { "content-type": "application/json", "content-length": body.length, "user-agent": "logforest" },
      });
      const timer = setTimeout(() => req.destroy(new DeliveryError(`no answer within ${timeoutMs} ms`, true)), timeoutMs);
      req.on("response", (res) => {
        res.resume(); // the answer's body is not needed; reading it frees the connection
        res.on("end", () => {
          clearTimeout(timer);
          const s = res.statusCode ?? 0;
          if (s >= 200 && s < 300) resolve();
          else reject(new DeliveryError(`HTTP ${s}`, s === 408 || s === 429 || s >= 500));
        });
        res.on("error", () => undefined); // a reset mid-answer: handled on close
        res.on("close", () => {
          clearTimeout(timer);
          if (!res.complete) reject(new DeliveryError("answer cut short", true));
        });
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err instanceof DeliveryError) return reject(err);
        reject(new DeliveryError(err.code ?? err.message, !TLS_REFUSALS.test(err.code ?? "")));
      });
      req.end(body);
    });
  const queue = new DeliveryQueue("webhook", post, options, onProblem);
  return {
    name: "webhook",
    offer: (a) => queue.offer(format === "slack" ? JSON.stringify(slackMessage(a)) : JSON.stringify(a)),
    counts: () => queue.counts(),
    close: async (drainMs) => {
      try {
        return await queue.close(drainMs);
      } finally {
        agent.destroy();
      }
    },
  };
}
