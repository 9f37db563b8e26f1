// Agents: the connected Mac agents and a CPU/RAM chart of the chosen one, refreshed while open.

import {api, append, clear, h, message, pageHeader, panel, select} from "../ui.js";

const REFRESH_MS = 5000;
const RANGES = [
  {value: "1h", label: "Last hour", ms: 3600e3},
  {value: "6h", label: "Last 6 hours", ms: 6 * 3600e3},
  {value: "24h", label: "Last 24 hours", ms: 24 * 3600e3},
  {value: "7d", label: "Last 7 days", ms: 7 * 24 * 3600e3},
];
const SERIES = [
  {key: "cpu_percent", label: "CPU", className: "chart-cpu"},
  {key: "mem_percent", label: "RAM", className: "chart-mem"},
];

export async function agentsPage(main, ctx) {
  let chosen = ctx.params.get("agent") || null;
  let range = RANGES.find((r) => r.value === ctx.params.get("range")) || RANGES[0];
  let busy = false;

  const agentList = h("div", {class: "agent-list", role: "group", "aria-label": "Agents"});
  const chartTitle = h("h2", null, "Resources");
  const chartBox = h("div", {class: "chart-box"});
  const legend = h("div", {class: "chart-legend"});
  const updated = h("span", {class: "muted small", "aria-live": "off"});
  const error = message("error");
  const rangeSelect = select("range", RANGES.map(({value, label}) => ({value, label})), range.value,
                             {"aria-label": "Time range", class: "compact"});
  const chartPanel = h("section", {class: "panel", hidden: true},
    h("div", {class: "panel-head"}, chartTitle, rangeSelect), legend, chartBox);

  rangeSelect.addEventListener("change", () => {
    range = RANGES.find((r) => r.value === rangeSelect.value) || RANGES[0];
    refresh();
  });

  function choose(name) {
    chosen = name;
    refresh();
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const names = await api("GET", "agents");
      if (!chosen || (!names.includes(chosen) && !ctx.params.get("agent"))) chosen = names[0] || null;
      renderAgents(names);
      if (chosen) {
        const rows = await api("GET", `agents/${encodeURIComponent(chosen)}/resources?range=${range.value}`);
        if (!chartBox.isConnected) return;
        renderChart(rows);
      }
      chartPanel.hidden = !chosen;
      if (agentList.isConnected) {
        const qs = new URLSearchParams();
        if (chosen) qs.set("agent", chosen);
        if (range.value !== "1h") qs.set("range", range.value);
        history.replaceState(null, "", "/agents" + (qs.toString() ? `?${qs}` : ""));
      }
      error.hide();
      updated.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ` +
                            `${REFRESH_MS / 1000} seconds`;
    } catch (err) {
      if (err.status !== 401) error.show(err.message);
    } finally {
      busy = false;
    }
  }

  function renderAgents(names) {
    const shown = chosen && !names.includes(chosen) ? [...names, chosen] : names;
    append(clear(agentList), shown.length ? shown.map((name) => {
      const online = names.includes(name);
      return h("button", {type: "button", class: "agent" + (name === chosen ? " active" : ""),
                          "aria-pressed": name === chosen ? "true" : "false",
                          onclick: () => choose(name)},
        h("span", {class: `dot ${online ? "dot-online" : "dot-offline"}`,
                   title: online ? "Online" : "Offline"}),
        name,
        online ? null : h("span", {class: "muted small"}, " (offline)"));
    }) : h("p", {class: "empty muted"},
      "No agents are connected. Run “relay agent” on a Mac with an agent token " +
      "(an Admin creates one on the Tokens page with the agent scope)."));
  }

  function renderChart(rows) {
    chartTitle.textContent = `${chosen} · CPU and RAM`;
    const last = rows[rows.length - 1];
    append(clear(legend), SERIES.map((s) => h("span", {class: "legend-item"},
      h("span", {class: `swatch ${s.className}`}),
      `${s.label} `, h("strong", null, last ? `${last[s.key].toFixed(1)}%` : "—"))));
    clear(chartBox).append(rows.length
      ? lineChart(rows, range, `${chosen}: CPU and RAM, ${range.label.toLowerCase()}`)
      : h("p", {class: "empty muted"}, "No samples in this time range yet."));
  }

  append(main, [
    pageHeader("Agents", "Mac agents that reported in the last 30 seconds, and their CPU and RAM."),
    error,
    panel("Connected agents", agentList, h("div", {class: "toolbar-note"}, updated)),
    chartPanel]);
  await refresh();
  const timer = setInterval(() => {
    if (!chartBox.isConnected) clearInterval(timer);  // the page was left
    else if (!document.hidden) refresh();
  }, REFRESH_MS);
}

// ---------------------------------------------------------------------------------------------
// A small SVG line chart: 0–100 % on y, the chosen range on x, gaps where the agent was silent.

const NS = "http://www.w3.org/2000/svg";
const W = 760;
const H = 240;
const PAD = {top: 12, right: 14, bottom: 26, left: 42};

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function timeLabel(date, range) {
  return range.value === "7d" || range.value === "24h"
    ? date.toLocaleString(undefined, {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"})
    : date.toLocaleTimeString(undefined, {hour: "2-digit", minute: "2-digit"});
}

function lineChart(rows, range, label) {
  const to = Date.now();
  const from = to - range.ms;
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + Math.min(1, Math.max(0, (t - from) / (to - from))) * innerW;
  const y = (v) => PAD.top + (1 - Math.min(100, Math.max(0, v)) / 100) * innerH;
  const gap = Math.max(3 * 60e3, range.ms / 120);  // a longer silence breaks the line
  const points = rows.map((r) => ({t: Date.parse(r.recorded_at), r}))
    .filter((p) => !Number.isNaN(p.t));

  const grid = [0, 25, 50, 75, 100].map((v) => svg("g", {class: "chart-grid"},
    svg("line", {x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v)}),
    svg("text", {x: PAD.left - 8, y: y(v) + 4, "text-anchor": "end"}, `${v}%`)));
  const ticks = [0, 0.5, 1].map((f) => svg("text", {
    class: "chart-axis", x: PAD.left + f * innerW, y: H - 6,
    "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle",
  }, timeLabel(new Date(from + f * (to - from)), range)));

  const series = SERIES.map((s) => {
    let d = "";
    let previous = null;
    for (const p of points) {
      const command = previous === null || p.t - previous > gap ? "M" : "L";
      d += `${command}${x(p.t).toFixed(1)},${y(p.r[s.key]).toFixed(1)} `;
      previous = p.t;
    }
    const dots = points.length <= 20 ? points.map((p) => svg("circle", {
      class: s.className, cx: x(p.t).toFixed(1), cy: y(p.r[s.key]).toFixed(1), r: 2.5,
    }, svg("title", {}, `${s.label} ${p.r[s.key]}% at ${new Date(p.t).toLocaleString()}`))) : [];
    return svg("g", {class: "chart-series"},
      svg("path", {class: `chart-line ${s.className}`, d: d.trim()}), dots);
  });

  return svg("svg", {class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label},
    svg("title", {}, label), grid, ticks, series);
}
