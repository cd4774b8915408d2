"use strict";
// Draws /_local/metrics.json as the stack's dashboard (inline SVG line charts, no build step) and its alarms
// with their state on the local figures; polls every 2 s.
(function () {
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
  const SVG = "http://www.w3.org/2000/svg";
  const W = 520;
  const H = 120;
  const PAD = { left: 34, right: 6, top: 8, bottom: 16 };
  const windowSelect = document.querySelector('[data-testid="window"]');

  function el(tag, attributes, ...children) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) if (value !== undefined) node.setAttribute(key, String(value));
    for (const child of children) node.append(child);
    return node;
  }

  const format = (value) => (value === undefined || value === null ? "–" : Number.isInteger(value) ? String(value) : value.toFixed(1));

  function chart(series, snapshot) {
    const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
    const drawn = series.filter((s) => s.produced);
    const count = Math.max(1, ...drawn.map((s) => s.points.length));
    const max = Math.max(1, ...drawn.flatMap((s) => s.points.filter((p) => p !== null)));
    const x = (i) => PAD.left + (i / Math.max(1, count - 1)) * (W - PAD.left - PAD.right);
    const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
    svg.append(el("svg:line", { class: "axis", x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }));
    svg.append(el("svg:line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }));
    svg.append(el("svg:text", { x: 2, y: PAD.top + 8 }, format(max)));
    svg.append(el("svg:text", { x: 2, y: H - PAD.bottom }, "0"));
    svg.append(el("svg:text", { x: PAD.left, y: H - 3 }, `−${Math.round(snapshot.windowSeconds / 60)} min`));
    svg.append(el("svg:text", { x: W - PAD.right - 20, y: H - 3 }, "now"));
    series.forEach((s, index) => {
      if (!s.produced) return;
      // A period without samples breaks the line, as CloudWatch draws missing data.
      let d = "";
      let pen = false;
      s.points.forEach((p, i) => {
        if (p === null) return void (pen = false);
        d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(p).toFixed(1)} `;
        pen = true;
      });
      const color = COLORS[index % COLORS.length];
      if (d) svg.append(el("svg:path", { d, fill: "none", stroke: color, "stroke-width": 1.6 }));
      s.points.forEach((p, i) => {
        if (p !== null) svg.append(el("svg:circle", { cx: x(i), cy: y(p), r: 1.8, fill: color }));
      });
    });
    return svg;
  }

  function legend(series) {
    return el(
      "ul",
      { class: "legend" },
      ...series.map((s, index) =>
        el(
          "li",
          { "data-metric": s.metric.name, "data-label": s.label, "data-stat": s.stat, "data-produced": s.produced, title: s.reason || `${s.metric.namespace} ${s.metric.name} ${s.stat}` },
          el("span", { class: "swatch", style: `background:${COLORS[index % COLORS.length]}` }),
          s.label,
          s.produced ? el("span", { class: "total", "data-total": "" }, format(s.total ?? 0)) : el("span", { class: "note" }, " (not observed locally)"),
        ),
      ),
    );
  }

  function widget(w, snapshot, alarmsByName) {
    const box = el("article", { class: "widget", "data-widget": w.title }, el("h3", {}, w.title));
    if (w.kind === "metric") {
      box.append(chart(w.series, snapshot), legend(w.series));
    } else if (w.kind === "alarm") {
      box.append(
        el(
          "ul",
          { class: "legend alarm-list" },
          ...w.alarms.map((name) => {
            const state = (alarmsByName.get(name) || {}).state || "NOT_EVALUATED";
            return el("li", {}, el("span", { class: "state", "data-state": state }, state), ` ${name}`);
          }),
        ),
      );
    } else {
      box.append(el("p", { class: "note" }, `A ${w.type} widget: not drawn locally.`));
    }
    return box;
  }

  function render(snapshot) {
    document.querySelector('[data-testid="period"]').textContent = String(snapshot.periodSeconds);
    document.querySelector('[data-testid="updated"]').textContent = new Date(snapshot.generatedAt).toLocaleTimeString();
    const rows = snapshot.alarms.map((a) =>
      el(
        "tr",
        { "data-alarm": a.name, "data-state": a.state },
        el("td", { title: a.description || "" }, a.name),
        el("td", {}, el("span", { class: "state", "data-state": a.state }, a.state)),
        el("td", {}, a.reason),
      ),
    );
    document.querySelector('[data-testid="alarms"] tbody').replaceChildren(...rows);
    const alarmsByName = new Map(snapshot.alarms.map((a) => [a.name, a]));
    const boards = snapshot.dashboards.map((d) =>
      el(
        "section",
        { "data-dashboard": d.name },
        el("h2", {}, `Dashboard ${d.name}`),
        ...(d.unreadable ? [el("p", { class: "note" }, d.unreadable)] : []),
        el("div", { class: "widgets" }, ...d.widgets.map((w) => widget(w, snapshot, alarmsByName))),
      ),
    );
    const container = document.querySelector('[data-testid="dashboards"]');
    container.replaceChildren(...boards);
    container.setAttribute("data-generated-at", String(snapshot.generatedAt));
  }

  async function refresh() {
    try {
      const response = await fetch(`/_local/metrics.json?window=${windowSelect.value}`, { cache: "no-store" });
      if (response.ok) render(await response.json());
    } catch {
      // The runtime stopped or restarts: keep the last picture and try again.
    }
  }

  windowSelect.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 2000);
})();
