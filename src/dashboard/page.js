// The dashboard page: loads the recent window from /api/state, then merges the
// deltas pushed on /api/events. Two layouts: logs (routes, rate, latency, score)
// and telemetry (series, values, row rate, score), picked by the model's kind.
// Log text (routes, user agents, series names) reaches the DOM only through
// textContent, never as markup.
/* global uPlot */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  // Bucket row columns (see src/dashboard/aggregate.ts).
  const SEC = 0, LINES = 1, ERRORS = 2, P50 = 3, P99 = 4, MEAN = 5, MAX = 6;
  // Telemetry rows: a series' [.., mean value, min, max]; all series' [.., each series' mean value].
  const T_MEAN = 2, T_MAX = 3, T_VALUE = 4, T_VMIN = 5, T_VMAX = 6;

  const view = {
    route: new URLSearchParams(location.search).get("route") || "all",
    rows: new Map(), // second -> row
    span: null, // [oldest, newest] second over all routes
    alerts: [], // newest first, {seq, alert, second}
    maxAlerts: 500,
    stamp: 0,
    alertSeq: 0,
    model: null,
    selected: null,
    source: null,
    layout: null, // "logs", or "telemetry:" + the series shown ("all" included)
  };
  const telemetry = () => view.model !== null && view.model.kind === "telemetry";
  const freeText = () => view.model !== null && view.model.kind === "text";

  function band(sev) {
    return sev >= 90 ? "sev90" : sev >= 75 ? "sev75" : sev >= 50 ? "sev50" : "sevlow";
  }
  const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const colours = { sev90: cssVar("--sev90"), sev75: cssVar("--sev75"), sev50: cssVar("--sev50"), sevlow: cssVar("--sevlow") };
  const fmt = (n) => Number(n).toLocaleString("en-US");
  const clock = (sec) => new Date(sec * 1000).toLocaleTimeString("en-GB", { hour12: false });

  // Alert marks: a thin line at each alert's second, coloured by severity band (with a
  // dot at its score when withDots); dashed lines at guides() (severity 50 on the score
  // chart, the typical range on a series' values).
  function alertMarks(withDots, guides) {
    return {
      hooks: {
        draw: [
          (u) => {
            const ctx = u.ctx;
            const { left, top, width, height } = u.bbox;
            const [x0, x1] = [u.scales.x.min, u.scales.x.max];
            ctx.save();
            ctx.lineWidth = Math.max(1, devicePixelRatio);
            ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.strokeStyle = "#9aa3b5";
            for (const g of guides ? guides() : []) {
              if (!(u.scales.y.min <= g && g <= u.scales.y.max)) continue;
              const y = u.valToPos(g, "y", true);
              ctx.beginPath();
              ctx.moveTo(left, y);
              ctx.lineTo(left + width, y);
              ctx.stroke();
            }
            ctx.setLineDash([]);
            for (const a of view.alerts) {
              if (a.second === null || a.second < x0 || a.second > x1 || !alertShown(a)) continue;
              const x = Math.round(u.valToPos(a.second, "x", true));
              const c = colours[band(a.alert.severity)];
              ctx.strokeStyle = c;
              ctx.globalAlpha = 0.45;
              ctx.beginPath();
              ctx.moveTo(x, top);
              ctx.lineTo(x, top + height);
              ctx.stroke();
              if (withDots) {
                ctx.globalAlpha = 1;
                ctx.fillStyle = c;
                const y = u.valToPos(Math.min(a.alert.score, u.scales.y.max), "y", true);
                ctx.beginPath();
                ctx.arc(x, y, 3.5 * devicePixelRatio, 0, 2 * Math.PI);
                ctx.fill();
              }
            }
            ctx.restore();
          },
        ],
      },
    };
  }
  // On a telemetry series, the alerts whose reasons name it; else every alert.
  function alertShown(a) {
    if (!telemetry() || view.route === "all") return true;
    return (a.alert.reasons || []).some((r) => r.feature === view.route);
  }
  // The selected telemetry series as the model describes it (null for "all").
  function seriesInfo() {
    return telemetry() ? view.model.telemetry.series.find((x) => x.name === view.route) || null : null;
  }

  const CHART_HEIGHT = 140;
  const sync = uPlot.sync("logforest");
  function makeChart(el, series, scales, plugins, extra) {
    const opts = Object.assign({
      width: el.clientWidth || 600,
      height: CHART_HEIGHT,
      cursor: { sync: { key: sync.key } },
      legend: { live: true },
      scales: Object.assign({ x: { time: true } }, scales),
      axes: [{ stroke: "#6b7385", grid: { stroke: "#eceef2" } }, { stroke: "#6b7385", grid: { stroke: "#eceef2" }, size: 56 }],
      series: [{}].concat(series),
      plugins,
    }, extra);
    return new uPlot(opts, [[]].concat(series.map(() => [])), el);
  }
  const fromZero = { y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } };
  const sev50 = () => (view.model ? [view.model.severity_scores["50"]] : []);
  const scoreChart = () => makeChart($("chart-score"), [
    { label: "mean", stroke: "#6b7385", width: 1.2 },
    { label: "max", stroke: "#8e6fd8", width: 1.5 },
  ], { y: { range: (u, lo, hi) => [Math.max(0, Math.min(lo, 0.3) - 0.02), Math.min(1, Math.max(hi, 0.6) + 0.02)] } }, [alertMarks(true, sev50)]);
  const logsCharts = (text) => ({
    rate: makeChart($("chart-rate"), [
      { label: "lines/s", stroke: "#3a66c4", fill: "rgba(58,102,196,0.12)", width: 1.5 },
      { label: text ? "errors/s" : "5xx/s", stroke: "#c81d25", width: 1.5 },
    ], fromZero, [alertMarks(false)]),
    latency: makeChart($("chart-latency"), [
      { label: "p50", stroke: "#1e8a4c", width: 1.5, spanGaps: false },
      { label: "p99", stroke: "#f26419", width: 1.5, spanGaps: false },
    ], { y: { distr: 3 } }, [alertMarks(false)]),
    score: scoreChart(),
  });
  const PALETTE = ["#3a66c4", "#f26419", "#1e8a4c", "#8e6fd8", "#c81d25", "#e9b000", "#17a2b8", "#6b7385"];
  // One series: its mean with the min-max band; all: each series on its typical range.
  function telemetryCharts() {
    const one = seriesInfo();
    const value = one
      ? makeChart($("chart-value"), [
        { label: "mean", stroke: "#3a66c4", width: 1.5 },
        { label: "min", stroke: "rgba(58,102,196,0.35)", width: 1 },
        { label: "max", stroke: "rgba(58,102,196,0.35)", width: 1 },
      ], {}, [alertMarks(false, () => { const x = seriesInfo(); return x ? [x.p01, x.p99] : []; })], { bands: [{ series: [3, 2], fill: "rgba(58,102,196,0.12)" }] })
      : makeChart($("chart-value"), view.model.telemetry.series.map((x, q) => ({ label: x.name, stroke: PALETTE[q % PALETTE.length], width: 1.3 })), {}, [alertMarks(false, () => [0, 1])]);
    return {
      value,
      rate: makeChart($("chart-rate"), [{ label: "rows/min", stroke: "#3a66c4", fill: "rgba(58,102,196,0.12)", width: 1.5 }], fromZero, [alertMarks(false)]),
      score: scoreChart(),
    };
  }
  let charts = {};
  window.addEventListener("resize", () => {
    for (const [name, c] of Object.entries(charts)) c.setSize({ width: $("chart-" + name).clientWidth, height: CHART_HEIGHT });
  });

  // The layout follows the model's kind (and, for telemetry, whether one series or all is shown).
  function ensureLayout() {
    const tele = telemetry();
    const text = freeText();
    const key = tele ? "telemetry:" + view.route : text ? "text" : "logs";
    if (key === view.layout) return;
    view.layout = key;
    // Free text is the logs layout less latency: templates for routes, error lines for 5xx.
    document.body.className = tele ? "mode-telemetry" : text ? "mode-logs mode-text" : "mode-logs";
    for (const el of document.querySelectorAll("[data-telemetry]")) el.textContent = tele ? el.dataset.telemetry : text && el.dataset.text ? el.dataset.text : el.dataset.logs;
    if (tele) {
      const one = seriesInfo();
      $("value-title").textContent = one ? one.name : "all series";
      $("value-note").textContent = one ? "(per second: mean, min-max band; dashed: typical p1-p99 in training)" : "(each on its typical range: 0 = p1, 1 = p99 in training)";
      $("score-note").textContent = one ? "(marks: alerts naming " + one.name + "; dashed: severity 50)" : "(marks: every alert; dashed: severity 50)";
    }
    for (const c of Object.values(charts)) c.destroy();
    charts = tele ? telemetryCharts() : logsCharts(text);
  }

  function setPoints(points, lines) {
    for (const name of Object.keys(charts)) {
      $("chart-" + name).dataset.points = String(points);
      $("chart-" + name).dataset.lines = String(lines);
    }
  }

  // Every second of the span held over all routes: a second without lines on this route is 0 lines/s.
  function redrawCharts() {
    const span = view.span;
    for (const s of view.rows.keys()) if (span === null || s < span[0]) view.rows.delete(s);
    if (view.layout !== "logs" && view.layout !== "text") return redrawTelemetry();
    const xs = [], lines = [], errors = [], p50 = [], p99 = [], mean = [], max = [];
    if (span !== null) {
      for (let s = span[0]; s <= span[1]; s++) {
        const r = view.rows.get(s);
        xs.push(s);
        lines.push(r ? r[LINES] : 0);
        errors.push(r ? r[ERRORS] : 0);
        p50.push(r ? r[P50] : null);
        p99.push(r ? r[P99] : null);
        mean.push(r ? r[MEAN] : null);
        max.push(r ? r[MAX] : null);
      }
    }
    charts.rate.setData([xs, lines, errors]);
    charts.latency.setData([xs, p50, p99]);
    charts.score.setData([xs, mean, max]);
    setPoints(xs.length, lines.reduce((a, b) => a + b, 0));
  }

  // Telemetry rows come every few seconds: only the seconds holding rows, joined up.
  function redrawTelemetry() {
    const rows = [...view.rows.values()].sort((a, b) => a[SEC] - b[SEC]);
    const xs = rows.map((r) => r[SEC]);
    const perMinute = [];
    let from = 0, inWindow = 0;
    for (const r of rows) {
      inWindow += r[LINES];
      while (rows[from][SEC] <= r[SEC] - 60) inWindow -= rows[from++][LINES];
      perMinute.push(inWindow);
    }
    const one = seriesInfo();
    const values = one
      ? [T_VALUE, T_VMIN, T_VMAX].map((c) => rows.map((r) => r[c]))
      : view.model.telemetry.series.map((x, q) => rows.map((r) => onRange(r[T_VALUE + q], x)));
    charts.value.setData([xs].concat(values));
    charts.rate.setData([xs, perMinute]);
    charts.score.setData([xs, rows.map((r) => r[T_MEAN]), rows.map((r) => r[T_MAX])]);
    setPoints(xs.length, rows.reduce((a, r) => a + r[LINES], 0));
  }
  // A value on its series' typical range: 0 at p1, 1 at p99 of training.
  function onRange(v, x) {
    if (v === null || v === undefined) return null;
    return x.p99 > x.p01 ? (v - x.p01) / (x.p99 - x.p01) : v - x.median;
  }
  // A number for people: up to 4 significant digits.
  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? String(Number(v.toPrecision(4))) : "-");

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function alertRow(a) {
    const al = a.alert;
    const r = al.record;
    const tr = document.createElement("tr");
    tr.dataset.seq = String(a.seq);
    cell(tr, a.second === null ? "--:--:--" : clock(a.second));
    const sev = cell(tr, al.severity.toFixed(0), "sev " + band(al.severity));
    sev.style.background = colours[band(al.severity)];
    if (al.rule && "template" in r) {
      // Free text: the template (or the session), its level, the rule and what changed.
      const what = r.template !== null ? r.template : al.session !== undefined ? "(session " + al.session + ")" : "(window)";
      cell(tr, (r.template_id ? r.template_id + " " : "") + what, "route").title = what;
      cell(tr, r.level || "-");
      cell(tr, al.rule);
      cell(tr, r.now, "now").title = r.now + " (usual: " + r.usual + ")";
    } else if (r.values) {
      // Telemetry: the series of the reasons (top first) and their values.
      const names = al.reasons.map((x) => x.feature);
      cell(tr, names.join(", "), "series").title = al.reasons.map((x) => x.feature + " " + Math.round(x.share * 100) + "%").join(", ");
      cell(tr, names.map((n) => num(r.values[n])).join(", "), "values").title = Object.entries(r.values).map(([k, v]) => k + " " + num(v)).join(", ");
      cell(tr, al.score.toFixed(3));
    } else {
      cell(tr, (r.method + " " + r.route).trim(), "route").title = r.method + " " + r.route;
      cell(tr, r.status === null ? "-" : String(r.status));
      cell(tr, r.latency_ms === null ? "-" : r.latency_ms.toFixed(r.latency_ms < 10 ? 1 : 0) + " ms");
      cell(tr, al.score.toFixed(3));
      cell(tr, al.rule);
    }
    if (view.selected === a.seq) tr.classList.add("selected");
    return tr;
  }

  function addAlerts(list) {
    if (list.length === 0) return;
    const body = $("alerts").tBodies[0];
    for (const a of list) {
      if (a.seq <= view.alertSeq) continue;
      view.alertSeq = a.seq;
      const item = { seq: a.seq, alert: a.alert, second: a.alert.ts ? Date.parse(a.alert.ts) / 1000 : null };
      view.alerts.unshift(item);
      body.insertBefore(alertRow(item), body.firstChild);
    }
    while (view.alerts.length > view.maxAlerts) {
      view.alerts.pop();
      body.lastChild && body.removeChild(body.lastChild);
    }
  }

  function showAlert(seq) {
    const a = view.alerts.find((x) => x.seq === seq);
    if (!a) return;
    view.selected = seq;
    for (const tr of $("alerts").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.seq === String(seq));
    const d = $("detail");
    d.textContent = JSON.stringify(a.alert, null, 2);
    d.classList.remove("muted");
  }
  $("alerts").tBodies[0].addEventListener("click", (e) => {
    const tr = e.target.closest("tr");
    if (tr) showAlert(Number(tr.dataset.seq));
  });

  function setRoutes(routes) {
    const sel = $("route");
    const want = routes.map((r) => r.key);
    if (!want.includes(view.route)) want.push(view.route);
    const have = [...sel.options].map((o) => o.value);
    if (have.length === want.length && have.every((v, i) => v === want[i])) {
      routes.forEach((r, i) => (sel.options[i].textContent = label(r)));
      return;
    }
    sel.textContent = "";
    for (const key of want) {
      const r = routes.find((x) => x.key === key) || { key, lines: 0 };
      const o = document.createElement("option");
      o.value = key;
      o.textContent = label(r);
      sel.appendChild(o);
    }
    sel.value = view.route;
  }
  function label(r) {
    return (r.key === "all" ? (telemetry() ? "all series" : freeText() ? "all templates" : "all routes") : r.key) + " (" + fmt(r.lines) + ")";
  }
  $("route").addEventListener("change", (e) => {
    view.route = e.target.value;
    const u = new URL(location.href);
    u.searchParams.set("route", view.route);
    history.replaceState(null, "", u);
    load();
  });

  function setTotals(t) {
    const st = $("status");
    st.textContent = t.status;
    st.className = "status " + t.status;
    $("rate").textContent = t.status === "running" ? fmt(t.lines_per_second) + (telemetry() ? " rows/s" : " lines/s") : "";
    $("scored").textContent = fmt(t.lines_scored);
    const uncharted = t.not_charted.late + t.not_charted.untimed;
    $("read").textContent = "of " + fmt(t.lines_read) + " read" + (uncharted ? "; " + fmt(uncharted) + " not charted (late or no time)" : "");
    const skipped = Object.entries(t.skipped);
    $("skipped-total").textContent = fmt(skipped.reduce((a, [, v]) => a + v, 0));
    const ul = $("skipped");
    ul.textContent = "";
    for (const [reason, n] of skipped.sort((a, b) => b[1] - a[1])) {
      const li = document.createElement("li");
      li.textContent = reason;
      const b = document.createElement("b");
      b.textContent = fmt(n);
      li.appendChild(b);
      ul.appendChild(li);
    }
    $("alerts-total").textContent = fmt(t.alerts);
    $("sev90").textContent = fmt(t.alerts_by_severity["90-100"]);
    $("sev75").textContent = fmt(t.alerts_by_severity["75-89"]);
    // "below 75": the 50-74 band and alerts that rules let through below 50.
    $("sev50").textContent = fmt(t.alerts_by_severity["50-74"] + (t.alerts_by_severity["0-49"] ?? 0));
  }

  function setModel(m) {
    const shown = view.model;
    if (!m || (shown && shown.created_at === m.created_at && shown.generation === m.generation)) return;
    view.model = m;
    const dl = document.createElement("dl");
    const add = (k, v, cls) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      if (cls) dd.className = cls;
      dl.append(dt, dd);
    };
    add("trained", new Date(m.created_at).toLocaleString("en-GB", { hour12: false }) + (m.generation > 0 ? " (retrained " + m.generation + "x while running)" : ""));
    add("forest", m.trees + " trees of " + m.sample_size + " samples; threshold s > " + m.threshold.toFixed(3));
    add("severity", "50 at s " + m.severity_scores["50"].toFixed(3) + ", 75 at " + m.severity_scores["75"].toFixed(3) + ", 90 at " + m.severity_scores["90"].toFixed(3));
    if (m.telemetry) {
      const t = m.telemetry;
      add("format", m.format + ", " + t.series.length + " series, shingle k = " + t.k + ", window " + t.window);
      add("series", t.series.map((x) => x.name + " " + num(x.p01) + " to " + num(x.p99)).join("; ") + " (typical p1 to p99)");
    } else if (m.kind === "text") {
      add("format", m.format + " (free text), " + m.routes + " templates profiled");
    } else {
      add("format", m.format + ", " + m.routes + " routes");
    }
    add("features", m.features.length + ": " + m.features.join(", "), "features");
    const el = $("model");
    el.textContent = "";
    el.classList.remove("muted");
    el.appendChild(dl);
  }

  function apply(d) {
    view.stamp = d.stamp;
    view.span = d.span;
    for (const r of d.rows) view.rows.set(r[SEC], r);
    setModel(d.model);
    ensureLayout();
    addAlerts(d.alerts);
    setRoutes(d.routes);
    setTotals(d.totals);
    redrawCharts();
  }

  // Load the recent window, then follow the deltas; on a broken stream, load again.
  let retry = null;
  async function load() {
    if (view.source) view.source.close();
    view.source = null;
    clearTimeout(retry);
    try {
      const res = await fetch("/api/state?route=" + encodeURIComponent(view.route), { cache: "no-store" });
      if (!res.ok) throw new Error("state: HTTP " + res.status);
      const s = await res.json();
      view.rows.clear();
      view.maxAlerts = s.max_alerts;
      view.alerts = [];
      view.alertSeq = 0;
      $("alerts").tBodies[0].textContent = "";
      apply(s);
      const es = new EventSource("/api/events?route=" + encodeURIComponent(view.route) + "&since=" + s.stamp + "&alerts=" + view.alertSeq);
      es.addEventListener("delta", (e) => apply(JSON.parse(e.data)));
      es.onerror = () => {
        es.close();
        if (view.source !== es) return;
        $("status").textContent = "disconnected";
        $("status").className = "status disconnected";
        retry = setTimeout(load, 2000);
      };
      view.source = es;
    } catch (err) {
      $("status").textContent = "disconnected";
      $("status").className = "status disconnected";
      retry = setTimeout(load, 2000);
    }
  }
  // For tests and curious users: what the page holds.
  window.logforestDashboard = {
    points: () => charts.rate.data[0].length,
    alerts: () => view.alerts.length,
    layout: () => view.layout,
    /** A chart's data as uPlot holds it ([xs, ...series]), by name: rate, latency, score, value. */
    data: (name) => (charts[name] ? charts[name].data : null),
  };
  ensureLayout();
  load();
})();
