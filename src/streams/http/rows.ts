/**
 * Per-row scratch of one HTTP batch, column by column, grown as needed: what the
 * detector fills for each scored line and the rules read back. Nothing per line is
 * allocated.
 */
export class BatchRows {
  line = new Int32Array(0);
  lineNo = new Int32Array(0);
  status = new Float64Array(0);
  latency = new Float64Array(0);
  bytes = new Float64Array(0);
  route = new Int32Array(0);
  routeCount = new Int32Array(0);
  routeErrors = new Int32Array(0);
  errorsOfLast3 = new Uint8Array(0);
  // Per row: the route's recent 5xx share, its latency trend, the all-traffic latency trend, its family's latency trend.
  recent = new Float64Array(0);
  family = new Int32Array(0);
  routeClients = new Int8Array(0);
  seconds = new Float64Array(0);
  ip: string[] = [];
  routeText: string[] = [];
  novel = new Uint8Array(0);
  // Client window counts per row: requests, failures, novel failures, known failures.
  client = new Int32Array(0);

  /** Room for n rows (the contents are unspecified after growing). */
  grow(n: number): void {
    if (this.line.length >= n) return;
    this.line = new Int32Array(n);
    this.lineNo = new Int32Array(n);
    this.status = new Float64Array(n);
    this.latency = new Float64Array(n);
    this.bytes = new Float64Array(n);
    this.route = new Int32Array(n);
    this.routeCount = new Int32Array(n);
    this.routeErrors = new Int32Array(n);
    this.errorsOfLast3 = new Uint8Array(n);
    this.recent = new Float64Array(4 * n);
    this.family = new Int32Array(n);
    this.routeClients = new Int8Array(n);
    this.seconds = new Float64Array(n);
    this.ip = new Array<string>(n).fill("");
    this.routeText = new Array<string>(n).fill("");
    this.novel = new Uint8Array(n);
    this.client = new Int32Array(4 * n);
  }

  /** The route group of row j: known routes by id, unknown ones by their own text. */
  routeKey(j: number): string {
    return this.route[j] >= 0 ? `#${this.route[j]}` : this.routeText[j];
  }
}
