// The asyncnni dashboard: one page, routed by the URL's hash; every page fetches its data
// from /api and draws it again when the server's event stream says the store changed.
"use strict";

const $page = document.getElementById("page");
const charts = [];
const state = { trials: { page: 0, size: 50, sort: "sequence", order: "asc", status: "", q: "" }, selected: null };
let current = null; // {name, render}
let logStream = null;

const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const num = (v) => (v === null || v === undefined ? "" : Number.isInteger(v) ? String(v) : Number(v).toPrecision(6).replace(/\.?0+$/, ""));
const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "");
const span = (s) => {
  s = Math.max(0, Math.round(s || 0));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h ${m}m ${r}s` : m ? `${m}m ${r}s` : `${r}s`;
};
const params = (p) => esc(Object.entries(p || {}).filter(([k]) => !k.endsWith("_dir")).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join("  "));
const status = (s) => `<span class="status ${esc(s)}">${esc(s)}</span>`;
// red for bad results, green for good ones, whichever way the experiment optimizes
const goodColours = (mode) => (mode === "minimize" ? ["#1f9d55", "#e8c547", "#d64545"] : ["#d64545", "#e8c547", "#1f9d55"]);
const trialLink = (id) => `<a href="#/trial/${encodeURIComponent(id)}">${esc(id)}</a>`;

async function api(path) {
  const response = await fetch(path, { cache: "no-store" });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function chart(element, option) {
  const c = echarts.init(element, null, { renderer: "canvas" });
  c.setOption({ animation: false, ...option });
  charts.push(c);
  return c;
}

// --- overview ------------------------------------------------------------------------

async function overview() {
  const o = await api("/api/overview");
  document.getElementById("experiment-title").textContent = `${o.name || ""} ${o.id}`;
  const c = o.counts;
  const best = o.best;
  const card = (label, id, value) => `<div class="card"><div class="label">${label}</div><div class="value" id="${id}">${value}</div></div>`;
  $page.innerHTML = `
    <h2>Experiment ${esc(o.id)} ${o.name ? `(${esc(o.name)})` : ""}</h2>
    <div class="cards">
      ${card("status", "experiment-status", status(o.status))}
      ${card("started", "start-time", esc(when(o.start_time)))}
      ${card("duration", "duration", esc(span(o.duration)))}
      ${card("done", "count-done", c.done)}
      ${card("running", "count-running", c.running)}
      ${card("failed", "count-failed", c.failed)}
      ${card("waiting", "count-waiting", c.waiting)}
      ${card(`best (${esc(o.optimize_mode)})`, "best-value", best ? esc(num(best.metric)) : "—")}
    </div>
    ${o.message ? `<div class="panel ${o.status === "ERROR" ? "error" : ""}">${esc(o.message)}</div>` : ""}
    <div class="panel">
      <div class="kv">
        <div>best trial</div><div id="best-trial">${best ? `${trialLink(best.trial_job_id)} (parameter set ${best.parameter_id})` : "—"}</div>
        <div>its parameters</div><div id="best-parameters" class="params">${best ? params(best.parameters) : "—"}</div>
        <div>trial jobs / configurations</div><div>${o.trial_jobs} / ${o.configurations}${o.max_trial_number ? ` (max_trial_number ${o.max_trial_number})` : ""}</div>
        <div>mode</div><div>${o.async_dispatcher ? "asynchronous dispatcher" : "serial"}${o.multi_phase ? ", multi-phase" : ""}, concurrency ${o.trial_concurrency ?? ""}</div>
      </div>
    </div>
    <div class="panel"><h3>Final metric of every trial, with the best so far</h3><div class="chart" id="finals-chart"></div></div>`;
  const points = o.finals.map(([t, v, pid]) => [t * 1000, v, pid]);
  let bestSoFar = null;
  const line = points.map(([t, v]) => {
    if (bestSoFar === null || (o.optimize_mode === "minimize" ? v < bestSoFar : v > bestSoFar)) bestSoFar = v;
    return [t, bestSoFar];
  });
  chart(document.getElementById("finals-chart"), {
    tooltip: { trigger: "item", formatter: (p) => (p.seriesIndex === 0 ? `parameter set ${p.data[2]}: ${num(p.data[1])}` : `best so far: ${num(p.data[1])}`) },
    legend: { data: ["final metric", "best so far"], top: 0 },
    grid: { left: 60, right: 20, top: 36, bottom: 40 },
    xAxis: { type: "time" },
    yAxis: { type: "value", scale: true },
    series: [
      { name: "final metric", type: "scatter", symbolSize: 6, data: points },
      { name: "best so far", type: "line", step: "end", showSymbol: false, data: line, lineStyle: { width: 2 } },
    ],
  });
}

// --- trials table --------------------------------------------------------------------

async function trials() {
  const t = state.trials;
  const query = new URLSearchParams({ page: t.page, size: t.size, sort: t.sort, order: t.order, status: t.status, q: t.q });
  const d = await api(`/api/trials?${query}`);
  const pages = Math.max(1, Math.ceil(d.matching / d.size));
  const head = (key, label) => {
    const sorted = t.sort === key ? ` sorted ${t.order}` : "";
    return `<th class="sortable${sorted}" data-sort="${esc(key)}">${esc(label)}</th>`;
  };
  const statuses = ["", "RUNNING", "SUCCEEDED", "FAILED", "EARLY_STOPPED", "USER_CANCELED"];
  $page.innerHTML = `
    <h2>Trials</h2>
    <div class="toolbar">
      <label>status <select id="status-filter">${statuses.map((s) => `<option value="${s}" ${s === t.status ? "selected" : ""}>${s || "any"}</option>`).join("")}</select></label>
      <input id="search" type="search" placeholder="search trial id or parameters" value="${esc(t.q)}" size="32">
      <span class="muted" id="matching">${d.matching} of ${d.total} rows</span>
      <span style="margin-left:auto"></span>
      <button id="prev" ${t.page <= 0 ? "disabled" : ""}>‹ previous</button>
      <span id="page-number">page ${d.page + 1} of ${pages}</span>
      <button id="next" ${t.page + 1 >= pages ? "disabled" : ""}>next ›</button>
    </div>
    <table id="trials-table">
      <thead><tr>${head("sequence", "#")}${head("trial", "trial job")}<th>set</th>${head("status", "status")}${head("metric", "final metric")}<th>latest intermediate</th>${head("duration", "duration")}${head("start", "started")}<th>parameters</th></tr></thead>
      <tbody>${d.rows.map((r) => `
        <tr data-trial="${esc(r.trial_job_id)}" data-parameter-id="${r.parameter_id ?? ""}">
          <td class="num">${r.sequence}${r.parameter_index ? `.${r.parameter_index}` : ""}</td>
          <td>${trialLink(r.trial_job_id)}</td>
          <td class="num">${r.parameter_id ?? "—"}</td>
          <td>${status(r.status)}</td>
          <td class="num metric">${esc(num(r.metric))}</td>
          <td class="num">${esc(num(r.latest_intermediate))}</td>
          <td class="num">${esc(span(r.duration))}</td>
          <td>${esc(when(r.start_time))}</td>
          <td class="params">${params(r.parameters)}</td>
        </tr>`).join("")}</tbody>
    </table>`;
  $page.querySelectorAll("th.sortable").forEach((th) =>
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      t.order = t.sort === key && t.order === "asc" ? "desc" : key === "metric" && t.sort !== key ? "desc" : "asc";
      t.sort = key;
      t.page = 0;
      render();
    }),
  );
  document.getElementById("status-filter").addEventListener("change", (e) => { t.status = e.target.value; t.page = 0; render(); });
  const search = document.getElementById("search");
  search.addEventListener("change", () => { t.q = search.value; t.page = 0; render(); });
  document.getElementById("prev").addEventListener("click", () => { t.page -= 1; render(); });
  document.getElementById("next").addEventListener("click", () => { t.page += 1; render(); });
}

// --- hyper-parameters ----------------------------------------------------------------

async function hyperparameters() {
  const d = await api("/api/hyperparameters");
  const names = d.names;
  const x = state.selected && names.includes(state.selected) ? state.selected : names[0];
  $page.innerHTML = `
    <h2>Hyper-parameters <span class="muted">(${d.rows.length} best of ${d.count} results)</span></h2>
    <div class="panel"><h3>Parallel coordinates: parameters against the final metric</h3><div class="chart" id="parallel-chart"></div></div>
    <div class="grid2">
      <div class="panel"><h3>Importance (share of the metric's variance each explains)</h3><div class="chart small" id="importance-chart"></div></div>
      <div class="panel"><h3>Scatter: <select id="scatter-x">${names.map((n) => `<option ${n === x ? "selected" : ""}>${esc(n)}</option>`).join("")}</select> against the metric</h3><div class="chart small" id="scatter-chart"></div></div>
    </div>`;
  const axes = names.map((name, dim) => {
    const values = d.rows.map((r) => r.parameters[name]).filter((v) => v !== null && v !== undefined);
    const numeric = values.every((v) => typeof v === "number");
    return numeric ? { dim, name } : { dim, name, type: "category", data: [...new Set(values.map(String))] };
  });
  axes.push({ dim: names.length, name: "metric" });
  const metrics = d.rows.map((r) => r.metric);
  const lo = Math.min(...metrics), hi = Math.max(...metrics);
  chart(document.getElementById("parallel-chart"), {
    parallelAxis: axes,
    parallel: { left: 60, right: 80, top: 40, bottom: 30 },
    visualMap: { type: "continuous", min: lo, max: hi, dimension: names.length, inRange: { color: goodColours(d.optimize_mode) }, right: 0, top: "middle", calculable: true },
    series: [{ type: "parallel", lineStyle: { width: 1, opacity: 0.5 }, data: d.rows.map((r) => [...names.map((n) => (axes[names.indexOf(n)].type === "category" ? String(r.parameters[n]) : r.parameters[n])), r.metric]) }],
  });
  const ranked = Object.entries(d.importance).filter(([, v]) => v !== null).sort((a, b) => a[1] - b[1]);
  chart(document.getElementById("importance-chart"), {
    grid: { left: 110, right: 30, top: 10, bottom: 30 },
    xAxis: { type: "value", max: 1 },
    yAxis: { type: "category", data: ranked.map(([n]) => n) },
    series: [{ type: "bar", data: ranked.map(([, v]) => Number(v.toFixed(3))), label: { show: true, position: "right" } }],
  });
  const scatterAxis = axes[names.indexOf(x)];
  chart(document.getElementById("scatter-chart"), {
    grid: { left: 60, right: 20, top: 10, bottom: 40 },
    tooltip: { formatter: (p) => `parameter set ${p.data[2]}: ${x}=${p.data[0]}, metric ${num(p.data[1])}` },
    xAxis: scatterAxis && scatterAxis.type === "category" ? { type: "category", data: scatterAxis.data, name: x } : { type: "value", scale: true, name: x },
    yAxis: { type: "value", scale: true, name: "metric" },
    series: [{ type: "scatter", symbolSize: 7, data: d.rows.map((r) => [scatterAxis && scatterAxis.type === "category" ? String(r.parameters[x]) : r.parameters[x], r.metric, r.parameter_id]) }],
  });
  document.getElementById("scatter-x").addEventListener("change", (e) => { state.selected = e.target.value; render(); });
}

// --- intermediate results ------------------------------------------------------------

async function intermediate() {
  const ids = state.curves || "";
  const d = await api(`/api/intermediate${ids ? `?ids=${encodeURIComponent(ids)}` : ""}`);
  $page.innerHTML = `
    <h2>Intermediate results</h2>
    <div class="toolbar">
      <label>parameter sets <input id="curve-ids" placeholder="e.g. 3,7,12 (default: the best 10, every running one, the latest stopped early)" size="64" value="${esc(ids)}"></label>
      <span class="muted">✕ marks a trial the assessor stopped early</span>
    </div>
    <div class="panel"><div class="chart" id="curves-chart" style="height:440px"></div></div>
    <table id="curves-table"><thead><tr><th>set</th><th>trial job</th><th>status</th><th>points</th><th>final metric</th><th>assessor</th></tr></thead>
    <tbody>${d.series.map((s) => `<tr data-parameter-id="${s.parameter_id}"><td class="num">${s.parameter_id}</td><td>${trialLink(s.trial_job_id)}</td><td>${status(s.status)}</td><td class="num">${s.points.length}</td><td class="num">${esc(num(s.metric))}</td><td class="killed">${s.killed ? `stopped early${s.kill_reason ? `: ${esc(s.kill_reason)}` : ""}` : ""}</td></tr>`).join("")}</tbody></table>`;
  chart(document.getElementById("curves-chart"), {
    tooltip: { trigger: "item", formatter: (p) => `${p.seriesName}, step ${p.data[0]}: ${num(p.data[1])}` },
    legend: { type: "scroll", top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 40 },
    xAxis: { type: "value", name: "step", minInterval: 1 },
    yAxis: { type: "value", scale: true },
    series: d.series.map((s) => ({
      name: `set ${s.parameter_id}`,
      type: "line",
      data: s.points,
      showSymbol: s.points.length < 30,
      lineStyle: s.killed ? { type: "dashed" } : {},
      markPoint: s.killed && s.points.length ? { symbol: "pin", symbolSize: 34, label: { formatter: "✕" }, data: [{ coord: s.points[s.points.length - 1], name: "stopped" }] } : undefined,
    })),
  });
  const input = document.getElementById("curve-ids");
  input.addEventListener("change", () => { state.curves = input.value.trim(); render(); });
}

// --- one trial job -------------------------------------------------------------------

async function trial(id) {
  const d = await api(`/api/trials/${encodeURIComponent(id)}`);
  const keepLog = document.getElementById("trial-log");
  $page.innerHTML = `
    <h2>Trial job ${esc(d.trial_job_id)} ${status(d.status)}</h2>
    <div class="panel kv">
      <div>sequence</div><div>${d.sequence}</div>
      <div>started</div><div>${esc(when(d.start_time))}</div>
      <div>duration</div><div>${esc(span(d.duration))}</div>
      <div>exit code</div><div>${d.exit_code ?? ""}</div>
      <div>message</div><div>${esc(d.message || "")}</div>
      <div>folder</div><div class="params">${esc(d.trial_dir || "")}</div>
    </div>
    <h3>Configurations</h3>
    <table id="configurations"><thead><tr><th>set</th><th>index</th><th>source</th><th>parent set</th><th>final metric</th><th>reported</th><th>parameters</th></tr></thead>
    <tbody>${d.configurations.map((c) => `<tr data-parameter-id="${c.parameter_id}"><td class="num">${c.parameter_id}</td><td class="num">${c.parameter_index}</td><td>${esc(c.source)}</td><td class="num parent">${c.parent_id ?? "—"}</td><td class="num metric">${esc(num(c.metric))}</td><td>${esc(c.final ? JSON.stringify(c.final) : "")}</td><td class="params">${esc(JSON.stringify(c.parameters))}</td></tr>`).join("")}</tbody></table>
    <div class="panel"><h3>Every metric</h3><div class="chart small" id="trial-chart"></div></div>
    <h3>Events</h3>
    <table><tbody>${d.events.map((e) => `<tr><td>${esc(when(e.time))}</td><td>${esc(e.kind)}</td><td>${esc(e.detail || "")}</td></tr>`).join("") || `<tr><td class="muted">none</td></tr>`}</tbody></table>
    <h3>Log (live)</h3>`;
  const pre = keepLog || Object.assign(document.createElement("pre"), { id: "trial-log", className: "log" });
  $page.appendChild(pre);
  chart(document.getElementById("trial-chart"), {
    legend: { top: 0 }, tooltip: { trigger: "axis" },
    grid: { left: 60, right: 40, top: 40, bottom: 30 },
    xAxis: { type: "value", name: "step", minInterval: 1 }, yAxis: { type: "value", scale: true },
    series: d.configurations.map((c) => ({ name: `set ${c.parameter_id}`, type: "line", data: c.intermediate.map(([s, v]) => [s, v]) })),
  });
  if (!logStream || logStream.trial !== id) {
    if (logStream) logStream.close();
    pre.textContent = "";
    logStream = new EventSource(`/api/log?trial=${encodeURIComponent(id)}`);
    logStream.trial = id;
    logStream.onmessage = (e) => {
      const target = document.getElementById("trial-log");
      if (target) { target.textContent += e.data; target.scrollTop = target.scrollHeight; }
    };
  }
}

// --- weight-sharing lineage ----------------------------------------------------------

async function lineage() {
  const d = await api("/api/lineage");
  const children = d.nodes.filter((n) => n.parent_id !== null);
  $page.innerHTML = `
    <h2>Weight-sharing lineage <span class="muted">(${children.length} of ${d.nodes.length} configurations inherit from a parent)</span></h2>
    <h3>Waiting now</h3>
    <table id="waiting"><thead><tr><th>trial job</th><th>its next set</th><th>waits on set</th><th>parent's trial job</th><th>for</th><th>reason</th></tr></thead>
    <tbody>${d.waiting.map((w) => `<tr data-trial-job-id="${esc(w.trial_job_id)}"><td>${trialLink(w.trial_job_id)}</td><td class="num">${w.parameter_id}</td><td class="num parent">${w.parent_id}</td><td>${w.parent_trial_job_id ? trialLink(w.parent_trial_job_id) : ""}</td><td>${esc(span(w.for))}</td><td>${esc(w.reason)}</td></tr>`).join("") || `<tr><td colspan="6" class="muted">no trial job waits on a parent's result</td></tr>`}</tbody></table>
    <div class="panel"><h3>Family tree (arrows from parent to child; colour: final metric)</h3><div class="chart" id="lineage-chart" style="height:460px"></div></div>
    <table id="lineage-table"><thead><tr><th>set</th><th>trial job</th><th>parent set</th><th>parent's trial job</th><th>waited for the parent</th><th>status</th><th>final metric</th></tr></thead>
    <tbody>${d.nodes.map((n) => `<tr data-parameter-id="${n.parameter_id}"><td class="num">${n.parameter_id}</td><td>${trialLink(n.trial_job_id)}</td><td class="num parent">${n.parent_id ?? "—"}</td><td>${n.parent_trial_job_id ? trialLink(n.parent_trial_job_id) : "from scratch"}</td><td class="num">${n.waited === null ? "" : esc(span(n.waited))}</td><td>${status(n.status)}</td><td class="num">${esc(num(n.metric))}</td></tr>`).join("")}</tbody></table>`;
  const depth = {};
  const byId = Object.fromEntries(d.nodes.map((n) => [n.parameter_id, n]));
  const depthOf = (n) => depth[n.parameter_id] ?? (depth[n.parameter_id] = n.parent_id === null || !byId[n.parent_id] ? 0 : depthOf(byId[n.parent_id]) + 1);
  const values = d.nodes.map((n) => n.metric).filter((v) => v !== null);
  chart(document.getElementById("lineage-chart"), {
    tooltip: { formatter: (p) => (p.dataType === "edge" ? `${p.data.source} → ${p.data.target}` : `set ${p.data.name}: ${num(p.data.value)}`) },
    visualMap: values.length ? { min: Math.min(...values), max: Math.max(...values), inRange: { color: goodColours(d.mode) }, right: 0, top: "middle", calculable: false, dimension: 0, seriesIndex: 0 } : undefined,
    series: [{
      type: "graph", layout: "none", roam: true, label: { show: true, fontSize: 10 }, symbolSize: 18,
      edgeSymbol: ["none", "arrow"], edgeSymbolSize: 7, lineStyle: { color: "#8894a8", curveness: 0.15 },
      data: d.nodes.map((n) => {
        return { name: String(n.parameter_id), value: n.metric ?? 0, x: n.parameter_id * 30, y: depthOf(n) * 60, itemStyle: n.metric === null ? { color: "#bbb" } : undefined };
      }),
      links: children.filter((n) => byId[n.parent_id]).map((n) => ({ source: String(n.parent_id), target: String(n.parameter_id) })),
    }],
  });
}

// --- multi-phase configuration streams -----------------------------------------------

async function streams() {
  const d = await api("/api/streams");
  $page.innerHTML = `
    <h2>Configuration streams <span class="muted">(${d.multi_phase_jobs} trial jobs asked for more than one configuration)</span></h2>
    ${d.jobs.map((j) => `
      <div class="panel" data-trial="${esc(j.trial_job_id)}">
        <h3>${trialLink(j.trial_job_id)} ${status(j.status)} — ${j.configurations.length} configurations</h3>
        <table><thead><tr><th>index</th><th>set</th><th>handed out</th><th>final metric</th><th>parameters</th></tr></thead>
        <tbody>${j.configurations.map((c) => `<tr><td class="num">${c.parameter_index}</td><td class="num">${c.parameter_id}</td><td>${esc(when(c.handed_out))}</td><td class="num">${esc(num(c.metric))}</td><td class="params">${params(c.parameters)}</td></tr>`).join("")}</tbody></table>
      </div>`).join("") || `<p class="muted">No trial job asked for more than one configuration (multi-phase mode hands a job a new one at each get_next_parameter()).</p>`}`;
}

// --- routing and live updates --------------------------------------------------------

const pages = { "": overview, trials, hyperparameters, intermediate, lineage, streams };

async function render() {
  const [name, arg] = location.hash.replace(/^#\/?/, "").split("/");
  const draw = name === "trial" ? () => trial(decodeURIComponent(arg)) : pages[name] || overview;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", (a.dataset.page === (name || "overview"))));
  if (name !== "trial" && logStream) { logStream.close(); logStream = null; }
  const scroll = window.scrollY;
  try {
    const before = charts.length;
    const old = charts.splice(0, before);
    await draw();
    old.forEach((c) => c.dispose());
    window.scrollTo(0, scroll);
    document.body.dataset.version = String((document.body.dataset.version | 0) + 1);
  } catch (err) {
    $page.innerHTML = `<p class="error">${esc(err.message)}</p>`;
  }
}

let pending = null;
function live() {
  const source = new EventSource("/api/events");
  const mark = document.getElementById("live");
  source.addEventListener("open", () => mark.classList.add("on"));
  source.addEventListener("error", () => mark.classList.remove("on"));
  source.addEventListener("change", () => {
    if (pending) return; // one redraw per burst of changes
    pending = setTimeout(() => { pending = null; render(); }, 100);
  });
}

window.addEventListener("hashchange", render);
window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
render();
live();
