/**
 * The Slack-compatible body of `--webhook-format slack`: `text` (the notification and the
 * fallback every client shows) and one mrkdwn section block with the alert's line and
 * reasons. Slack's incoming webhooks, Mattermost and Rocket.Chat read this shape.
 */
import type { StreamAlert } from "../../streams/stream.js";
import { formatAlert } from "../alert-format.js";

/** A Slack message: the text and its blocks. */
export interface SlackMessage {
  text: string;
  blocks: Array<{ type: "section"; text: { type: "mrkdwn"; text: string } }>;
}

/** Slack's limit on a section's text, in characters. */
const SECTION_LIMIT = 3000;

/** Slack's three control characters, escaped as its docs ask (user text must not open links or mentions). */
function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** One alert as a Slack message: severity, rule, file:line, the line and the reasons. */
export function slackMessage(a: StreamAlert): SlackMessage {
  const where = `${a.file}:${a.line}`;
  const sev = Math.round(a.severity);
  const reasons = (a.reasons ?? []).map((r) => r.text);
  const text = escape(`logforest alert: severity ${sev}, rule ${a.rule}, ${where}${reasons.length ? ` - ${reasons.join("; ")}` : ""}`);
  let body = `*Severity ${sev}* · rule \`${escape(a.rule)}\` · \`${escape(where)}\`\n\`\`\`${escape(formatAlert({ ...a, reasons: [] }, false))}\`\`\``; // the reasons follow as bullets
  if (reasons.length) body += `\n${reasons.map((r) => `• ${escape(r)}`).join("\n")}`;
  if (body.length > SECTION_LIMIT) body = `${body.slice(0, SECTION_LIMIT - 1)}…`;
  return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text: body } }] };
}
