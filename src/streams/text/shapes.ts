/**
 * The header shapes of free-text logs: one anchored expression each, tried on a file's
 * first lines; the one that reads the most of them reads the whole file (reader.ts).
 * Each fills a TextRecord: time, level, component, pid, and the message that is
 * templated. Order matters only for ties: the more specific shapes come first.
 */
import { monthNumber, type Clock } from "./clock.js";
import { levelOf, syslogLevel, type TextRecord } from "./record.js";

/** One header shape. */
export interface HeaderShape {
  /** Its name, as reports and the model say it. */
  readonly name: string;
  /** A line it reads, for the docs and tests. */
  readonly example: string;
  /** Fill `out` from `line`; false when the line does not start with this header. */
  read(line: string, out: TextRecord, clock: Clock): boolean;
}

const ISO = String.raw`(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)`;
const LEVEL = String.raw`([A-Za-z]{1,11})`;

/** A shape from an expression and a function that fills the record from its groups. */
function shape(name: string, example: string, re: RegExp, fill: (m: RegExpExecArray, out: TextRecord, clock: Clock) => boolean): HeaderShape {
  return {
    name,
    example,
    read(line, out, clock) {
      const m = re.exec(line);
      if (m === null) return false;
      out.component = "";
      out.pid = "";
      out.level = "";
      return fill(m, out, clock);
    },
  };
}

/** Group `i` of a match, "" when it did not take part. */
function g(m: RegExpExecArray, i: number): string {
  return m[i] ?? "";
}

/** Set the level from a word; false when the word is no level. */
function setLevel(out: TextRecord, word: string): boolean {
  const level = word.length <= 11 ? levelOf(word) : "";
  if (level === "") return false;
  out.level = level;
  return true;
}

/** `17:41:44,747` / `16:13:38.811` / `04:47:44` as [h, mi, s, ms]. */
function hms(t: string): [number, number, number, number] {
  const ms = t.length > 9 ? Number(t.slice(9, 12).padEnd(3, "0")) : 0;
  return [Number(t.slice(0, 2)), Number(t.slice(3, 5)), Number(t.slice(6, 8)), ms];
}

/** Every shape, most specific first. */
export const SHAPES: readonly HeaderShape[] = [
  shape("bgl", "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected",
    /^(\S+) (\d{9,10}) \d{4}\.\d{2}\.\d{2} (\S+) \S+ \S+ (\S+) (\S+) ([A-Z]+) (.*)$/, (m, out, c) => {
      if (!setLevel(out, g(m, 6))) return false;
      out.ts = c.epochSeconds(g(m, 2));
      out.component = `${g(m, 4)} ${g(m, 5)}`;
      out.message = g(m, 7);
      return true;
    }),
  shape("thunderbird", "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session closed for user root",
    /^(\S+) (\d{9,10}) \d{4}\.\d{2}\.\d{2} \S+ [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \S+ (.+?)(?:\[(\d+)\])?: (.*)$/, (m, out, c) => {
      out.ts = c.epochSeconds(g(m, 2));
      out.component = g(m, 3);
      out.pid = g(m, 4);
      out.message = g(m, 5);
      return true;
    }),
  shape("hpc", "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: Component \\042alt0\\042 is in the unavailable state (HWID=1973)",
    /^\d+ (\S+) (\S+) (\S+) (\d{9,10}) -?\d+ (.*)$/, (m, out, c) => {
      out.ts = c.epochSeconds(g(m, 4));
      out.component = g(m, 2);
      out.message = g(m, 5);
      return true;
    }),
  shape("hdfs", "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating",
    /^(\d{2})(\d{2})(\d{2}) (\d{2})(\d{2})(\d{2}) (\d+) ([A-Z]+) (\S+?): (.*)$/, (m, out, c) => {
      if (!setLevel(out, g(m, 8))) return false;
      out.ts = c.utc(2000 + Number(g(m, 1)), Number(g(m, 2)), Number(g(m, 3)), Number(g(m, 4)), Number(g(m, 5)), Number(g(m, 6)), 0);
      out.pid = g(m, 7);
      out.component = g(m, 9);
      out.message = g(m, 10);
      return true;
    }),
  shape("spark", "17/06/09 20:10:40 INFO spark.SecurityManager: Changing view acls to: yarn,curi",
    /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}:\d{2}:\d{2}) ([A-Z]+) (\S+?): (.*)$/, (m, out, c) => {
      if (!setLevel(out, g(m, 5))) return false;
      const [h, mi, s] = hms(g(m, 4));
      out.ts = c.utc(2000 + Number(g(m, 1)), Number(g(m, 2)), Number(g(m, 3)), h, mi, s, 0);
      out.component = g(m, 6);
      out.message = g(m, 7);
      return true;
    }),
  shape("android", "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs",
    /^(\d{2})-(\d{2}) (\d{2}:\d{2}:\d{2}\.\d{3}) +(\d+) +(\d+) ([VDIWEFA]) (.*?): (.*)$/, (m, out, c) => {
      if (!setLevel(out, g(m, 6))) return false;
      const [h, mi, s, ms] = hms(g(m, 3));
      out.ts = c.noYear(Number(g(m, 1)), Number(g(m, 2)), h, mi, s, ms);
      out.pid = g(m, 4);
      out.component = g(m, 7).trim();
      out.message = g(m, 8);
      return true;
    }),
  shape("klog", "I1205 12:00:01.123456   12345 controller.go:123] Starting workers",
    /^([IWEF])(\d{2})(\d{2}) (\d{2}:\d{2}:\d{2}\.\d+) +(\d+) ([^\]\s]+)\] (.*)$/, (m, out, c) => {
      setLevel(out, g(m, 1));
      const [h, mi, s, ms] = hms(g(m, 4));
      out.ts = c.noYear(Number(g(m, 2)), Number(g(m, 3)), h, mi, s, ms);
      out.pid = g(m, 5);
      out.component = g(m, 6);
      out.message = g(m, 7);
      return true;
    }),
  shape("zookeeper", "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200",
    new RegExp(String.raw`^${ISO} - ${LEVEL} +\[(.*?)\] - (.*)$`), (m, out, c) => {
      if (!setLevel(out, g(m, 2))) return false;
      out.ts = c.iso(g(m, 1));
      const where = g(m, 3);
      out.component = where.slice(where.lastIndexOf(":") + 1).replace(/@\d+$/, "");
      out.message = g(m, 4);
      return true;
    }),
  shape("spring-boot", "2026-12-05T12:00:01.123Z  INFO 12345 --- [main] c.a.Foo : Started",
    new RegExp(String.raw`^${ISO}\s+${LEVEL}\s+(\d+)\s+---\s+\[\s*([^\]]*)\]\s+(\S+)\s+:\s(.*)$`), (m, out, c) => {
      if (!setLevel(out, g(m, 2))) return false;
      out.ts = c.iso(g(m, 1));
      out.pid = g(m, 3);
      out.component = g(m, 5);
      out.message = g(m, 6);
      return true;
    }),
  shape("python", "2026-12-05 12:00:01,123 - app.db - ERROR - Connection refused",
    new RegExp(String.raw`^${ISO} - (\S+) - ${LEVEL} - (.*)$`), (m, out, c) => {
      if (!setLevel(out, g(m, 3))) return false;
      out.ts = c.iso(g(m, 1));
      out.component = g(m, 2);
      out.message = g(m, 4);
      return true;
    }),
  shape("openstack", "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b 113d3a99 - - -] 10.11.10.1 \"GET /v2 HTTP/1.1\" status: 200",
    new RegExp(String.raw`^(?:\S+ )?${ISO} (\d+) ${LEVEL} (\S+) (?:\[[^\]]*\] )?(.*)$`), (m, out, c) => {
      if (!setLevel(out, g(m, 3))) return false;
      out.ts = c.iso(g(m, 1));
      out.pid = g(m, 2);
      out.component = g(m, 4);
      out.message = g(m, 5);
      return true;
    }),
  shape("log4j", "2026-12-05 12:00:01,123 ERROR [main] com.acme.Foo - Connection refused",
    new RegExp(String.raw`^${ISO},?\s+(?:\[([^\]]*)\]\s+)?${LEVEL}\s+(?:\[([^\]]*)\]\s+)?(\S+?)(?::| -) (.*)$`), (m, out, c) => {
      if (!setLevel(out, g(m, 3))) return false;
      out.ts = c.iso(g(m, 1));
      out.pid = g(m, 2) || g(m, 4);
      out.component = g(m, 5);
      out.message = g(m, 6);
      return true;
    }),
  shape("logback", "12:00:01.123 [main] INFO  com.acme.Foo - Connection refused",
    new RegExp(String.raw`^\d{2}:\d{2}:\d{2}\.\d{3} \[([^\]]*)\] ${LEVEL}\s+(\S+) - (.*)$`), (m, out, c) => {
      if (!setLevel(out, g(m, 2))) return false;
      out.ts = c.timeOnly();
      out.pid = g(m, 1);
      out.component = g(m, 3);
      out.message = g(m, 4);
      return true;
    }),
  shape("windows-cbs", "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505",
    new RegExp(String.raw`^${ISO}, ${LEVEL}\s+(\S+)\s+(.*)$`), (m, out, c) => {
      if (!setLevel(out, g(m, 2))) return false;
      out.ts = c.iso(g(m, 1));
      out.component = g(m, 3);
      out.message = g(m, 4);
      return true;
    }),
  shape("iso-level", "2026-12-05T12:00:01.123Z\tINFO\tserver started",
    new RegExp(String.raw`^${ISO}[\s,]+\[?${LEVEL}\]?:?\s+(.*)$`), (m, out, c) => {
      if (!setLevel(out, g(m, 2))) return false;
      out.ts = c.iso(g(m, 1));
      out.message = g(m, 3);
      return true;
    }),
  shape("syslog", "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    /^(?:<(\d{1,3})>)?([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2}) (\S+) (\S.*?)(?:\[(\d+)\])?(?: \([^)]*\))?: (.*)$/, (m, out, c) => {
      const mo = monthNumber(g(m, 2));
      if (mo === 0) return false;
      const [h, mi, s] = hms(g(m, 4));
      out.ts = c.noYear(mo, Number(g(m, 3)), h, mi, s, 0);
      if (m[1] !== undefined) out.level = syslogLevel(Number(m[1]));
      out.component = g(m, 6);
      out.pid = g(m, 7);
      out.message = g(m, 8);
      return true;
    }),
  shape("syslog-iso", "2026-12-05T12:00:01.123456+00:00 web1 sshd[812]: Accepted publickey for deploy",
    new RegExp(String.raw`^(?:<(\d{1,3})>)?${ISO} (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$`), (m, out, c) => {
      out.ts = c.iso(g(m, 2));
      if (m[1] !== undefined) out.level = syslogLevel(Number(m[1]));
      out.component = g(m, 4);
      out.pid = g(m, 5);
      out.message = g(m, 6);
      return true;
    }),
  shape("syslog-5424", "<34>1 2026-12-05T12:00:01.003Z web1 sshd 812 ID47 - Failed password for root",
    /^<(\d{1,3})>1 (\S+) \S+ (\S+) (\S+) \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$/, (m, out, c) => {
      out.ts = g(m, 2) === "-" ? NaN : c.iso(g(m, 2));
      out.level = syslogLevel(Number(g(m, 1)));
      out.component = g(m, 3) === "-" ? "" : g(m, 3);
      out.pid = g(m, 4) === "-" ? "" : g(m, 4);
      out.message = g(m, 5).replace(/^\uFEFF/, "");
      return true;
    }),
  shape("apache-error", "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
    /^\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{2}) (\d{2}:\d{2}:\d{2})(?:\.\d+)? (\d{4})\] \[(?:[\w-]+:)?(\w+)\](?: \[pid (\d+)(?::tid \d+)?\])? ?(.*)$/, (m, out, c) => {
      if (!setLevel(out, g(m, 5))) return false;
      const [h, mi, s] = hms(g(m, 3));
      out.ts = c.utc(Number(g(m, 4)), monthNumber(g(m, 1)), Number(g(m, 2)), h, mi, s, 0);
      out.pid = g(m, 6);
      out.message = g(m, 7);
      return true;
    }),
  shape("nginx-error", "2026/12/05 12:00:01 [error] 1234#1234: *5 open() \"/var/www/x\" failed (2: No such file or directory)",
    /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}:\d{2}:\d{2}) \[(\w+)\] (\d+)#\d+: (?:\*\d+ )?(.*)$/, (m, out, c) => {
      if (!setLevel(out, g(m, 5))) return false;
      const [h, mi, s] = hms(g(m, 4));
      out.ts = c.utc(Number(g(m, 1)), Number(g(m, 2)), Number(g(m, 3)), h, mi, s, 0);
      out.pid = g(m, 6);
      out.message = g(m, 7);
      return true;
    }),
  shape("proxifier", "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
    /^\[(\d{2})\.(\d{2}) (\d{2}:\d{2}:\d{2})\] (.+?) - (.*)$/, (m, out, c) => {
      const [h, mi, s] = hms(g(m, 3));
      out.ts = c.noYear(Number(g(m, 1)), Number(g(m, 2)), h, mi, s, 0);
      out.component = g(m, 4);
      out.message = g(m, 5);
      return true;
    }),
  shape("healthapp", "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
    /^(\d{4})(\d{2})(\d{2})-(\d{1,2}):(\d{1,2}):(\d{1,2}):(\d{1,3})\|([^|]*)\|([^|]*)\|(.*)$/, (m, out, c) => {
      out.ts = c.utc(Number(g(m, 1)), Number(g(m, 2)), Number(g(m, 3)), Number(g(m, 4)), Number(g(m, 5)), Number(g(m, 6)), Number(g(m, 7)));
      out.component = g(m, 8);
      out.pid = g(m, 9);
      out.message = g(m, 10);
      return true;
    }),
  shape("python-basic", "WARNING:root:disk almost full",
    /^([A-Z]{4,8}):([\w.]*):(.*)$/, (m, out) => {
      if (!setLevel(out, g(m, 1))) return false;
      out.component = g(m, 2);
      out.message = g(m, 3);
      return true;
    }),
  shape("logrus-tty", "INFO[0000] Started server                    addr=:8080",
    /^(INFO|WARN|ERRO|DEBU|FATA|PANI|TRAC)\[([^\]]*)\] (.*)$/, (m, out, c) => {
      out.level = levelOf(g(m, 1).replace("ERRO", "ERROR").replace("DEBU", "DEBUG").replace("FATA", "FATAL").replace("PANI", "PANIC").replace("TRAC", "TRACE"));
      out.ts = c.timeOnly();
      out.message = g(m, 3).trimEnd();
      return true;
    }),
  shape("iso", "2026-12-05T12:00:01Z worker 3 picked job 812",
    new RegExp(String.raw`^${ISO}\s+(.*)$`), (m, out, c) => {
      out.ts = c.iso(g(m, 1));
      out.message = g(m, 2);
      return true;
    }),
];

/** The shape for lines with no header: the whole line is the message. */
export const PLAIN: HeaderShape = {
  name: "plain",
  example: "connection refused by upstream",
  read(line, out) {
    out.ts = NaN;
    out.level = "";
    out.component = "";
    out.pid = "";
    out.message = line;
    return true;
  },
};
