"use strict";
// Draws /_local/metrics.json (polled every 2 s): a one-line alarm summary over a collapsed table, then the
// stack's dashboard as SVG line charts with real axes, gaps where a period had no data, and values on hover.
// Plain script and SVG: no build step, no dependency, nothing inline, so the page's CSP allows only 'self'.
(function () {
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
  const SVG = "http://www.w3.org/2000/svg";
  const H = 160;
  const PAD = { left: 44, right: 10, top: 10, bottom: 22 };
  const windowSelect = document.querySelector('[data-testid="window"]');
  /** The period each chart's pointer is over, by widget title: kept across the redraws. */
  const hovered = new Map();
  let latest;

  function el(tag, attributes, ...children) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) if (value !== undefined) node.setAttribute(key, String(value));
    for (const child of children) node.append(child);
    return node;
  }

  const format = (value) => {
    if (value === undefined || value === null) return "–";
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1);
  };
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  const clockSeconds = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

  /** Round steps (1, 2, 2.5, 5 × 10^k; whole numbers for counts) for about `count` gridlines from 0 to at least `max`. */
  function yTicks(max, count, whole) {
    if (!(max > 0)) max = 1;
    const raw = max / count;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = Math.max(whole ? 1 : 0, [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw && (!whole || Number.isInteger(s))) ?? 10 * magnitude);
    const ticks = [];
    for (let v = 0; v < max + step; v += step) ticks.push(Number(v.toPrecision(12)));
    return ticks;
  }

  /** Whole minutes apart, about five across the window, on the clock's round minutes. */
  function xTicks(from, to) {
    const minutes = [1, 2, 5, 10, 15, 30].find((m) => (to - from) / (m * 60_000) <= 6) || 60;
    const step = minutes * 60_000;
    const ticks = [];
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
    return ticks;
  }

  function chart(w, snapshot) {
    const box = el("div", { class: "chart" });
    const width = Math.max(300, Math.round(chartWidth()));
    const svg = el("svg:svg", { viewBox: `0 0 ${width} ${H}`, width, height: H, role: "img", "aria-label": w.title });
    const drawn = w.series.map((s, index) => ({ ...s, color: COLORS[index % COLORS.length] })).filter((s) => s.produced);
    const count = Math.max(1, ...drawn.map((s) => s.points.length));
    const periodMs = snapshot.periodSeconds * 1000;
    const from = snapshot.generatedAt - count * periodMs;
    const to = snapshot.generatedAt;
    const values = drawn.flatMap((s) => s.points.filter((p) => p !== null));
    const ticks = yTicks(Math.max(0, ...values), 4, values.every(Number.isInteger));
    const top = ticks[ticks.length - 1];
    const plot = { left: PAD.left, right: width - PAD.right, top: PAD.top, bottom: H - PAD.bottom };
    // A period's point sits at its middle, as its figure covers the whole period.
    const timeOf = (i) => from + (i + 0.5) * periodMs;
    const x = (t) => plot.left + ((t - from) / (to - from)) * (plot.right - plot.left);
    const y = (v) => plot.bottom - (v / top) * (plot.bottom - plot.top);

    for (const tick of ticks) {
      svg.append(el("svg:line", { class: tick === 0 ? "axis" : "grid", x1: plot.left, x2: plot.right, y1: y(tick), y2: y(tick) }));
      svg.append(el("svg:text", { class: "y-tick", x: plot.left - 4, y: y(tick) + 3, "text-anchor": "end" }, format(tick)));
    }
    svg.append(el("svg:line", { class: "axis", x1: plot.left, x2: plot.left, y1: plot.top, y2: plot.bottom }));
    for (const tick of xTicks(from, to)) {
      svg.append(el("svg:line", { class: "axis", x1: x(tick), x2: x(tick), y1: plot.bottom, y2: plot.bottom + 3 }));
      svg.append(el("svg:text", { class: "x-tick", x: x(tick), y: H - 6, "text-anchor": "middle" }, clock(tick)));
    }

    for (const s of drawn) {
      // A period without samples breaks the line, as CloudWatch draws missing data; a lone point is a dot.
      let d = "";
      s.points.forEach((p, i) => {
        if (p === null) return;
        d += `${i > 0 && s.points[i - 1] !== null ? "L" : "M"}${x(timeOf(i)).toFixed(1)},${y(p).toFixed(1)} `;
        const alone = (i === 0 || s.points[i - 1] === null) && (i === s.points.length - 1 || s.points[i + 1] === null);
        if (alone) svg.append(el("svg:circle", { class: "point", cx: x(timeOf(i)), cy: y(p), r: 2.5, fill: s.color }));
      });
      if (d) svg.append(el("svg:path", { class: "line", d, fill: "none", stroke: s.color, "stroke-width": 1.8, "stroke-linejoin": "round", "data-label": s.label }));
    }

    const guide = el("svg:line", { class: "guide", y1: plot.top, y2: plot.bottom, visibility: "hidden" });
    const markers = el("svg:g", {});
    const area = el("svg:rect", { class: "hover-area", x: plot.left, y: plot.top, width: plot.right - plot.left, height: plot.bottom - plot.top });
    svg.append(guide, markers, area);
    const tooltip = el("div", { class: "tooltip", "data-testid": "tooltip", role: "status" });
    tooltip.hidden = true;

    const show = (i) => {
      const at = x(timeOf(i));
      guide.setAttribute("x1", at);
      guide.setAttribute("x2", at);
      guide.setAttribute("visibility", "visible");
      markers.replaceChildren(...drawn.filter((s) => s.points[i] !== null && s.points[i] !== undefined).map((s) => el("svg:circle", { cx: at, cy: y(s.points[i]), r: 3.5, fill: s.color })));
      tooltip.replaceChildren(
        el("div", { class: "time" }, `${clockSeconds(from + i * periodMs)}–${clockSeconds(from + (i + 1) * periodMs)}`),
        ...drawn.map((s) => el("div", { "data-label": s.label }, el("span", { class: `swatch c${w.series.indexOf(w.series.find((o) => o.label === s.label)) % COLORS.length}` }), `${s.label} `, el("b", {}, s.points[i] === null ? "no data" : format(s.points[i])))),
      );
      tooltip.hidden = false;
      const left = (at / width) * box.clientWidth;
      // Beside the guide, on the side with room, so it never covers the period it describes.
      const right = left + 12 + tooltip.offsetWidth <= box.clientWidth;
      tooltip.style.left = `${Math.max(0, right ? left + 12 : left - 12 - tooltip.offsetWidth)}px`;
      tooltip.style.top = `${PAD.top}px`;
    };
    const hide = () => {
      guide.setAttribute("visibility", "hidden");
      markers.replaceChildren();
      tooltip.hidden = true;
    };
    area.addEventListener("mousemove", (event) => {
      const rect = svg.getBoundingClientRect();
      const t = from + (((event.clientX - rect.left) * (width / rect.width) - plot.left) / (plot.right - plot.left)) * (to - from);
      const i = Math.min(count - 1, Math.max(0, Math.floor((t - from) / periodMs)));
      hovered.set(w.title, i);
      show(i);
    });
    area.addEventListener("mouseleave", () => {
      hovered.delete(w.title);
      hide();
    });
    box.append(svg, tooltip);
    if (hovered.has(w.title) && drawn.length) queueMicrotask(() => show(Math.min(count - 1, hovered.get(w.title))));
    return box;
  }

  function chartWidth() {
    const sample = document.querySelector(".widget");
    return sample ? sample.clientWidth - 20 : Math.min(560, window.innerWidth - 60);
  }

  function legend(series) {
    return el(
      "ul",
      { class: "legend" },
      ...series.map((s, index) =>
        el(
          "li",
          { "data-metric": s.metric.name, "data-label": s.label, "data-stat": s.stat, "data-produced": s.produced, title: s.reason || `${s.metric.namespace} ${s.metric.name} ${s.stat}` },
          el("span", { class: `swatch c${index % COLORS.length}` }),
          s.label,
          s.produced ? el("span", { class: "total", "data-total": "" }, format(s.total ?? 0)) : el("span", { class: "note" }, " (not observed locally)"),
        ),
      ),
    );
  }

  function widget(w, snapshot) {
    const box = el("article", { class: "widget", "data-widget": w.title }, el("h3", {}, w.title));
    if (w.kind === "metric") box.append(chart(w, snapshot), legend(w.series));
    else box.append(el("p", { class: "note" }, `A ${w.type} widget: not drawn locally.`));
    return box;
  }

  const STATES = [
    ["ALARM", "firing"],
    ["OK", "OK"],
    ["INSUFFICIENT_DATA", "without data"],
    ["NOT_EVALUATED", "not evaluated here"],
  ];

  function alarmSummary(alarms) {
    const parts = [];
    for (const [state, words] of STATES) {
      const matching = alarms.filter((a) => a.state === state);
      if (matching.length === 0 && state !== "ALARM" && state !== "OK") continue;
      const part = el("span", { "data-summary": state }, el("span", { class: "state", "data-state": state }, String(matching.length)), ` ${words}`);
      if (state === "ALARM" && matching.length) part.append(el("span", { class: "firing-names" }, ` (${matching.map((a) => a.name).join(", ")})`));
      parts.push(part);
    }
    const summary = [`${alarms.length} alarms: `];
    parts.forEach((part, i) => summary.push(...(i ? [" · ", part] : [part])));
    return summary;
  }

  function render(snapshot) {
    latest = snapshot;
    document.querySelector('[data-testid="period"]').textContent = String(snapshot.periodSeconds);
    document.querySelector('[data-testid="updated"]').textContent = new Date(snapshot.generatedAt).toLocaleTimeString();
    document.querySelector('[data-testid="alarm-summary"]').replaceChildren(...alarmSummary(snapshot.alarms));
    const order = new Map(STATES.map(([state], i) => [state, i]));
    const rows = [...snapshot.alarms]
      .sort((a, b) => order.get(a.state) - order.get(b.state) || a.name.localeCompare(b.name))
      .map((a) =>
        el(
          "tr",
          { "data-alarm": a.name, "data-state": a.state },
          el("td", { title: a.description || "" }, a.name),
          el("td", {}, el("span", { class: "state", "data-state": a.state }, a.state === "NOT_EVALUATED" ? "not evaluated" : a.state)),
          el("td", {}, a.reason),
        ),
      );
    document.querySelector('[data-testid="alarms"] tbody').replaceChildren(...rows);
    const boards = snapshot.dashboards.map((d) =>
      el(
        "section",
        { "data-dashboard": d.name },
        el("h2", {}, "Charts", el("small", {}, `from the stack's CloudWatch dashboard (${d.name})`)),
        ...(d.unreadable ? [el("p", { class: "note" }, d.unreadable)] : []),
        // Alarm widgets are left out: the summary above has every alarm.
        el("div", { class: "widgets" }, ...d.widgets.filter((w) => w.kind !== "alarm").map((w) => widget(w, snapshot))),
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
  window.addEventListener("resize", () => latest && render(latest));
  refresh();
  setInterval(refresh, 2000);
})();
