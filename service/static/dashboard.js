// connevo dashboard: vanilla JS over the HTTP API, no build step, no external resources.
// The campaign list and the selected campaign refresh every POLL_MS while anything runs.
// A token (when the server wants one) comes from the URL fragment (#token=...) or the form,
// is kept in sessionStorage and sent as "Authorization: Bearer ..." on every API request.
"use strict";

const POLL_MS = 1500;
const IDLE_POLL_MS = 5000;   // nothing runs: look for new campaigns now and then
const MAX_POINTS = 1000;
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  token: sessionStorage.getItem("connevo-token") || "",
  campaign: null,          // selected campaign id
  detail: null,            // last GET /campaigns/{id}
  loadedKey: null,         // what the drawn points reflect: campaign/candidates/cost/status
  candidates: [],
  front: [],
  selectedCandidate: null,
  networkUrl: null,
  polling: false,
};

// ----- API ----------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    showTokenForm(true);
    throw new ApiError(401, "token needed");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

const getJSON = async (path) => (await api(path)).json();

// ----- small DOM helpers --------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1000 ? value.toFixed(0) : String(+value.toPrecision(4));
  }
  return String(value);
}

function setConnState(text, bad) {
  const node = $("conn-state");
  node.textContent = text;
  node.classList.toggle("bad", !!bad);
}

function showTokenForm(show) { $("token-form").hidden = !show; }

// ----- campaign list ------------------------------------------------------------------------
async function refreshList() {
  const campaigns = await getJSON("/campaigns");
  const body = $("campaigns").querySelector("tbody");
  body.replaceChildren();
  for (const c of campaigns) {
    const row = el("tr", { "data-id": c.id });
    row.append(el("td", {}, c.name), el("td", {}, c.id));
    const status = el("td");
    status.append(el("span", { class: "badge " + c.status + (c.stale ? " stale" : ""),
                               title: c.stale ? "its driver has not been heard of for a minute: it died; resume it" : "" },
                     c.stale ? c.status + " (stale)" : c.status));
    row.append(status, el("td", { class: "num" }, fmt(c.generations_done)), el("td", { class: "num" }, fmt(c.candidates)));
    if (c.id === state.campaign) row.classList.add("selected");
    row.addEventListener("click", () => selectCampaign(c.id));
    body.append(row);
  }
  $("no-campaigns").hidden = campaigns.length > 0;
  if (!state.campaign && campaigns.length) selectCampaign(campaigns[0].id);
  return campaigns;
}

function selectCampaign(id) {
  if (state.campaign === id) return;
  state.campaign = id;
  state.detail = null;
  state.loadedKey = null;
  state.candidates = [];
  state.front = [];
  state.selectedCandidate = null;
  history.replaceState(null, "", "#campaign=" + encodeURIComponent(id));
  for (const row of $("campaigns").querySelectorAll("tbody tr")) {
    row.classList.toggle("selected", row.dataset.id === id);
  }
  $("candidate-panel").hidden = true;
  refreshCampaign().catch(reportError);
}

// ----- one campaign -------------------------------------------------------------------------
function cost() { return $("cost-select").value; }

// The score on the y axis: the campaign's first maximized objective (val_accuracy, or a
// regression's val_r2); a candidate keeps a score that is not a store column under "extra".
function score() { return state.detail ? state.detail.objectives.maximize[0] : "val_accuracy"; }
const SORTABLE_SCORES = ["val_accuracy", "test_accuracy", "train_accuracy"];
function scoreOf(r, y) {
  if (r[y] !== undefined && r[y] !== null) return r[y];
  return r.extra && r.extra[y] !== undefined ? r.extra[y] : null;
}

async function refreshCampaign() {
  const id = state.campaign;
  if (!id) return;
  const detail = await getJSON("/campaigns/" + encodeURIComponent(id));
  if (id !== state.campaign) return;
  state.detail = detail;
  renderFacts(detail);
  drawHypervolume(detail.hypervolume_history || []);
  const key = [id, detail.candidates_done, detail.status, cost(), $("show-all").checked].join("|");
  $("score-name").textContent = score();
  if (key !== state.loadedKey) {
    const objectives = score() + "," + cost();
    // the best candidates first; a score kept under "extra" (R^2) follows the validation loss
    const order = SORTABLE_SCORES.includes(score()) ? `sort=${score()}&order=desc` : "sort=val_loss&order=asc";
    const [page, front] = await Promise.all([
      $("show-all").checked
        ? getJSON(`/campaigns/${encodeURIComponent(id)}/candidates?status=ok&${order}&limit=${MAX_POINTS}`)
        : Promise.resolve({ items: [] }),
      getJSON(`/campaigns/${encodeURIComponent(id)}/front?objectives=${objectives}`),
    ]);
    if (id !== state.campaign) return;
    state.candidates = page.items;
    state.front = front.items;
    state.loadedKey = key;
    drawFront();
    $("front-plot").dataset.status = detail.status; // the campaign's status when this front was read
  }
}

function renderFacts(d) {
  $("campaign-panel").hidden = false;
  $("campaign-title").textContent = `${d.name} (${d.id})`;
  const badge = $("campaign-status");
  badge.textContent = d.stale ? d.status + " (stale)" : d.status;
  badge.className = "badge " + d.status + (d.stale ? " stale" : "");
  $("stop-button").hidden = !(d.status === "running" && d.running_here);
  const facts = $("campaign-facts");
  facts.replaceChildren();
  const live = d.progress ? ` (gen ${d.progress.generation}: ${d.progress.evaluated_in_generation}/${d.progress.generation_size})` : "";
  const items = [
    ["generations", `${d.generations_done}/${d.generations_total}`],
    ["candidates", `${d.candidates_done}/${d.candidates_total}${live}`],
    ["front size", fmt(d.front_size)],
    ["hypervolume", fmt(d.hypervolume)],
    ["best " + (d.best_objective || "val_accuracy"), fmt(d.best_val_accuracy)],
  ];
  for (const [label, value] of items) {
    const span = el("span", {}, label + " ");
    span.append(el("b", {}, value));
    facts.append(span);
  }
  const done = d.candidates_done + (d.progress ? d.progress.evaluated_in_generation : 0);
  $("progress-bar").style.width = Math.min(100, (100 * done) / Math.max(1, d.candidates_total)) + "%";
  const error = $("campaign-error");
  error.hidden = !d.error || d.status === "finished";
  error.textContent = d.error || "";
}

// ----- plots --------------------------------------------------------------------------------
const PLOT = { w: 560, h: 380, left: 62, right: 16, top: 14, bottom: 46 };

function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) { hi = lo + 1; }
  const step0 = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function scale(lo, hi, a, b) {
  const span = hi - lo || 1;
  return (v) => a + ((v - lo) / span) * (b - a);
}

function axes(root, xs, ys, xLabel, yLabel) {
  const { w, h, left, right, top, bottom } = PLOT;
  const gx = root.appendChild(svg("g", { class: "grid" }));
  const ax = root.appendChild(svg("g", { class: "axis" }));
  for (const t of xs.ticks) {
    const x = xs.f(t);
    gx.append(svg("line", { x1: x, x2: x, y1: top, y2: h - bottom }));
    ax.append(svg("text", { x, y: h - bottom + 16, "text-anchor": "middle" }, fmt(t)));
  }
  for (const t of ys.ticks) {
    const y = ys.f(t);
    gx.append(svg("line", { x1: left, x2: w - right, y1: y, y2: y }));
    ax.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, fmt(t)));
  }
  ax.append(svg("path", { d: `M${left},${top}V${h - bottom}H${w - right}`, fill: "none" }));
  root.append(svg("text", { class: "label", x: (left + w - right) / 2, y: h - 8, "text-anchor": "middle" }, xLabel));
  root.append(svg("text", { class: "label", transform: `translate(14,${(top + h - bottom) / 2}) rotate(-90)`, "text-anchor": "middle" }, yLabel));
}

function range(values, pad, floor) {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (hi === lo) { lo -= 1; hi += 1; }
  const p = (hi - lo) * pad;
  return [floor !== undefined ? Math.max(floor, lo - p) : lo - p, hi + p];
}

function drawFront() {
  const root = $("front-plot");
  root.replaceChildren();
  const c = cost();
  const y = score();
  const frontIds = new Set(state.front.map((r) => r.candidate_id));
  const others = state.candidates.filter((r) => !frontIds.has(r.candidate_id));
  const points = [...others, ...state.front].filter((r) => r[c] !== null && scoreOf(r, y) !== null);
  if (!points.length) {
    root.append(svg("text", { class: "empty", x: PLOT.w / 2, y: PLOT.h / 2, "text-anchor": "middle" },
      state.detail && state.detail.status === "running" ? "waiting for the first generation..." : "no candidates"));
    return;
  }
  const [x0, x1] = range(points.map((r) => r[c]), 0.05, 0);
  const values = points.map((r) => scoreOf(r, y));
  const [y0, y1] = range(values, 0.08);
  const xs = { f: scale(x0, x1, PLOT.left, PLOT.w - PLOT.right), ticks: niceTicks(x0, x1) };
  // accuracy and R^2 stay within [0, 1] unless a score lies below 0 (an R^2 worse than the mean)
  const lo = Math.min(...values) < 0 ? y0 : Math.max(0, y0), hi = Math.min(1, y1);
  const ys = { f: scale(lo, hi, PLOT.h - PLOT.bottom, PLOT.top), ticks: niceTicks(lo, hi) };
  axes(root, xs, ys, c + " (min)", y + " (max)");

  // the line is the staircase of the plotted score: a member kept for its lower loss alone (the
  // default front, objectives.rank_accuracy_by) is drawn as a point below it
  const sorted = [];
  for (const r of state.front.filter((r) => r[c] !== null && scoreOf(r, y) !== null).sort((a, b) => a[c] - b[c])) {
    if (!sorted.length || scoreOf(r, y) > scoreOf(sorted[sorted.length - 1], y)) sorted.push(r);
  }
  if (sorted.length) {
    let d = `M${xs.f(sorted[0][c])},${ys.f(scoreOf(sorted[0], y))}`;
    for (let i = 1; i < sorted.length; i++) {
      d += `H${xs.f(sorted[i][c])}V${ys.f(scoreOf(sorted[i], y))}`;
    }
    root.append(svg("path", { class: "step", d }));
  }
  // Candidates with equal scores share one point (the earliest is shown); front points on top.
  const groups = new Map();
  for (const r of points) {
    const key = (frontIds.has(r.candidate_id) ? "f" : "c") + "|" + r[c] + "|" + scoreOf(r, y);
    const group = groups.get(key);
    if (!group) groups.set(key, { row: r, ids: [r.candidate_id], onFront: frontIds.has(r.candidate_id) });
    else {
      group.ids.push(r.candidate_id);
      if (r.number < group.row.number) group.row = r;
    }
  }
  const layer = root.appendChild(svg("g"));
  for (const { row: r, ids, onFront } of groups.values()) {
    const dot = svg("circle", {
      class: "pt " + (onFront ? "front" : "cand") + (ids.includes(state.selectedCandidate) ? " selected" : ""),
      cx: xs.f(r[c]).toFixed(1), cy: ys.f(scoreOf(r, y)).toFixed(1), r: onFront ? 5.5 : 3.5,
      "data-id": r.candidate_id, "data-count": ids.length,
    });
    const more = ids.length > 1 ? `\n(${ids.length} candidates score the same)` : "";
    dot.append(svg("title", {}, `${r.candidate_id}\n${y} ${fmt(scoreOf(r, y))}\n${c} ${fmt(r[c])}\ngeneration ${r.generation}${more}`));
    dot.addEventListener("click", () => showCandidate(r.candidate_id).catch(reportError));
    layer.append(dot);
  }
}

function drawHypervolume(history) {
  const root = $("hv-plot");
  root.replaceChildren();
  if (!history.length) {
    root.append(svg("text", { class: "empty", x: PLOT.w / 2, y: PLOT.h / 2, "text-anchor": "middle" }, "no generation finished yet"));
    return;
  }
  const gens = history.map((r) => r.generation);
  const hvs = history.map((r) => r.hypervolume || 0);
  const [x0, x1] = gens.length > 1 ? [Math.min(...gens), Math.max(...gens)] : [gens[0] - 1, gens[0] + 1];
  const [y0, y1] = range(hvs, 0.1, 0);
  const xs = { f: scale(x0, x1, PLOT.left, PLOT.w - PLOT.right), ticks: niceTicks(x0, x1).filter(Number.isInteger) };
  const ys = { f: scale(y0, y1, PLOT.h - PLOT.bottom, PLOT.top), ticks: niceTicks(y0, y1) };
  axes(root, xs, ys, "generation", "hypervolume");
  root.append(svg("path", { class: "hv", d: history.map((r, i) => `${i ? "L" : "M"}${xs.f(r.generation)},${ys.f(r.hypervolume || 0)}`).join("") }));
  for (const r of history) {
    const dot = svg("circle", { class: "hv-pt", cx: xs.f(r.generation), cy: ys.f(r.hypervolume || 0), r: 3.5 });
    dot.append(svg("title", {}, `generation ${r.generation}: hypervolume ${fmt(r.hypervolume)}, front ${r.front_size}`));
    root.append(dot);
  }
}

// ----- one candidate ------------------------------------------------------------------------
const DETAIL_KEYS = ["status", "generation", "parents", "val_accuracy", "test_accuracy", "train_accuracy",
  "val_r2", "test_r2", "val_mse", "test_mse", "val_mae", "test_mae",
  "val_loss", "connections", "params", "flops", "wiring_length", "depth", "hidden_nodes", "epochs", "seconds", "error"];

async function showCandidate(id) {
  state.selectedCandidate = id;
  for (const dot of $("front-plot").querySelectorAll("circle.pt")) {
    dot.classList.toggle("selected", dot.dataset.id === id);
  }
  const c = await getJSON("/candidates/" + encodeURIComponent(id));
  if (state.selectedCandidate !== id) return;
  $("candidate-panel").hidden = false;
  $("candidate-title").textContent = c.id;
  const body = $("candidate-details").querySelector("tbody");
  body.replaceChildren();
  const rows = DETAIL_KEYS.filter((k) => scoreOf(c, k) !== null).map((k) => [k, k === "parents" ? (c[k].join(", ") || "(initial population)") : fmt(scoreOf(c, k))]);
  if (c.topology) rows.push(["nodes", fmt(c.topology.nodes)]);
  for (const [k, v] of rows) {
    const tr = el("tr", { "data-key": k });
    tr.append(el("td", {}, k), el("td", {}, v));
    body.append(tr);
  }
  const image = await (await api(c.plots.network)).blob();
  if (state.selectedCandidate !== id) return;
  if (state.networkUrl) URL.revokeObjectURL(state.networkUrl);
  state.networkUrl = URL.createObjectURL(image);
  $("network-img").src = state.networkUrl;
}

// ----- downloads ----------------------------------------------------------------------------
// The API wants the token in a header, which a plain link cannot send: fetch the zip, then hand
// it to the browser as a file.
async function download(path, name, stateId) {
  $(stateId).textContent = "exporting " + name + " ...";
  try {
    const blob = await (await api(path)).blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    $(stateId).textContent = "downloaded " + name;
  } catch (error) {
    $(stateId).textContent = "";
    throw error;
  }
}

function downloadCandidate(format) {
  const id = state.selectedCandidate;
  if (!id) return Promise.resolve();
  return download(`/candidates/${encodeURIComponent(id)}/export?format=${format}`, `${id}-${format}.zip`, "download-state");
}

function downloadFront(format) {
  const id = state.campaign;
  if (!id) return Promise.resolve();
  return download(`/campaigns/${encodeURIComponent(id)}/front/export?format=${format}`, `${id}-front-${format}.zip`,
    "front-download-state");
}

async function stopCampaign() {
  if (!state.campaign) return;
  await api(`/campaigns/${encodeURIComponent(state.campaign)}/stop`, { method: "POST" });
  $("stop-button").hidden = true;
}

// ----- polling ------------------------------------------------------------------------------
function reportError(error) {
  if (error instanceof ApiError && error.status === 401) {
    setConnState("token needed", true);
  } else {
    setConnState("error: " + error.message, true);
  }
}

async function tick() {
  let delay = IDLE_POLL_MS;
  try {
    const campaigns = await refreshList();
    if (state.campaign) await refreshCampaign();
    if (campaigns.some((c) => c.status === "running")) delay = POLL_MS;
    setConnState(delay === POLL_MS ? "live: refreshing every " + POLL_MS / 1000 + " s" : "up to date");
  } catch (error) {
    reportError(error);
    delay = POLL_MS;
  }
  setTimeout(tick, delay);
}

function init() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("token")) {
    state.token = params.get("token");
    sessionStorage.setItem("connevo-token", state.token);
  }
  if (params.get("campaign")) state.campaign = params.get("campaign");
  history.replaceState(null, "", state.campaign ? "#campaign=" + encodeURIComponent(state.campaign) : location.pathname);
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token-input").value.trim();
    sessionStorage.setItem("connevo-token", state.token);
    showTokenForm(false);
  });
  $("cost-select").addEventListener("change", () => { state.loadedKey = null; refreshCampaign().catch(reportError); });
  $("show-all").addEventListener("change", () => { state.loadedKey = null; refreshCampaign().catch(reportError); });
  $("stop-button").addEventListener("click", () => stopCampaign().catch(reportError));
  for (const button of ["candidate-download", "candidate-download-onnx"]) {
    $(button).addEventListener("click", (event) => downloadCandidate(event.target.dataset.format).catch(reportError));
  }
  for (const button of ["front-download", "front-download-onnx"]) {
    $(button).addEventListener("click", (event) => downloadFront(event.target.dataset.format).catch(reportError));
  }
  tick();
}

init();
