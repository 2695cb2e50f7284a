// The Intermesh console: runs, a run's mesh, charts, rollout, history and events, read from /v1 with the session
// cookie. Live updates come from server-sent events; nothing here polls a run.
"use strict";

const state = { who: null, streams: [], page: null };
const $ = (selector, root = document) => root.querySelector(selector);
const COLORS = ["#2f6fde", "#d64545", "#2e9e5b", "#d99b2b", "#7d4ccf", "#1aa3a3", "#c2577a", "#6b8e23", "#8a5a0b", "#4b5563"];

// Elements are built, never parsed from strings: names and messages from the server are text, not markup.
function h(tag, attributes = {}, ...children) {
  const element = tag === "svg" || ["polyline", "line", "text", "g", "rect", "circle"].includes(tag)
    ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.method && options.method !== "GET") {
    headers["X-Intermesh-CSRF"] = cookie("intermesh_csrf");
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, { credentials: "same-origin", ...options, headers });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!response.ok) throw new APIError(response.status, (body && (body.message || (body.error && body.error.message))) || `${response.status} ${response.statusText}`);
  return body;
}

function closeStreams() {
  for (const stream of state.streams) stream.close();
  state.streams = [];
}

function toast(message, bad = false) {
  const box = $("#toast");
  box.textContent = message;
  box.className = bad ? "bad" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

function confirmAction(title, text) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

const canOperate = () => state.who && (state.who.role === "operator" || state.who.role === "admin");

function duration(seconds) {
  if (seconds < 1) return `${(seconds * 1000).toPrecision(2)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}

function age(date, now) {
  if (!date) return "never";
  const seconds = Math.max(0, ((now ? new Date(now) : new Date()) - new Date(date)) / 1000);
  if (seconds < 90) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

// ---- Routing -------------------------------------------------------------------------------------------------------

async function start() {
  try {
    state.who = await api("/v1/whoami");
  } catch (error) {
    if (error.status === 401) return signInPage();
    $("#main").replaceChildren(h("p", { class: "error" }, error.message));
    return;
  }
  $("#who").textContent = `${state.who.role} · token ${state.who.tokenId}`;
  $("#sign-out").hidden = false;
  window.addEventListener("hashchange", route);
  route();
}

function route() {
  closeStreams();
  delete document.body.dataset.renderedAt;
  delete document.body.dataset.chartsAt;
  clearInterval(state.refresh);
  const match = location.hash.match(/^#\/runs\/([^/]+)$/);
  if (match) return runPage(decodeURIComponent(match[1]));
  return runsPage();
}

function signInPage() {
  document.body.dataset.page = "sign-in";
  const reason = new URLSearchParams(location.search).get("signin");
  const messages = {
    invalid: "That token was not accepted.", expired: "That sign-in link was used already or expired.",
    agent: "An agent token acts for one site's members; sign in with a person's token.",
  };
  $("#main").replaceChildren(h("div", { class: "panel sign-in" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "With an Intermesh token (intermesh token create). It is kept in an HttpOnly cookie of this site."),
    reason && h("p", { class: "error", id: "sign-in-error" }, messages[reason] || "Sign in again."),
    h("form", { method: "post", action: "/console/sign-in" },
      h("label", { for: "token" }, "Token"),
      h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true, placeholder: "imt_…" }),
      h("button", { type: "submit", class: "primary", id: "sign-in" }, "Sign in"))));
}

// ---- Runs ----------------------------------------------------------------------------------------------------------

async function runsPage() {
  document.body.dataset.page = "runs";
  $("#crumbs").replaceChildren("Runs");
  const load = async () => {
    let runs;
    try { runs = await api("/v1/runs"); } catch (error) { return $("#main").replaceChildren(h("p", { class: "error" }, error.message)); }
    const views = await Promise.all(runs.map((run) => api(`/v1/runs/${encodeURIComponent(run.name)}/view`).catch(() => null)));
    const rows = runs.map((run, index) => {
      const view = views[index];
      const conditions = (view ? view.conditions : []).map((condition) =>
        h("span", { class: `badge ${condition.status === (condition.type === "Degraded" ? false : true) ? "ok" : "bad"}`, title: condition.message },
          `${condition.type}: ${condition.status ? "yes" : "no"}`));
      return h("tr", { dataset: { run: run.name } },
        h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(run.name)}` }, run.name)),
        h("td", {}, h("span", { class: `badge ${run.phase}` }, run.phase)),
        h("td", {}, conditions),
        h("td", {}, String(run.revision)),
        h("td", {}, view ? `${view.live} of ${view.desired}` : `? of ${run.replicas}`),
        h("td", {}, String(view ? view.outerStep : run.outerStep)),
        h("td", {}, view && view.lastQuorumAt ? age(view.lastQuorumAt, view.now) : "none yet"));
    });
    $("#main").replaceChildren(h("h1", {}, "Runs"), h("div", { class: "panel" },
      runs.length === 0 ? h("p", { class: "muted" }, "No runs yet: intermesh apply -f run.yaml") :
        h("table", { id: "runs" },
          h("thead", {}, h("tr", {}, ["Run", "Phase", "Conditions", "Revision", "Replicas live", "Outer step", "Last quorum"].map((title) => h("th", {}, title)))),
          h("tbody", {}, rows))));
    if (!document.body.dataset.renderedAt) document.body.dataset.renderedAt = String(performance.now());
  };
  await load();
  // The list is small and changes slowly: it is read again every 5 s while it is open.
  state.refresh = setInterval(load, 5000);
}

// ---- One run -------------------------------------------------------------------------------------------------------

function runPage(name) {
  document.body.dataset.page = "run";
  $("#crumbs").replaceChildren(h("a", { href: "#/" }, "Runs"), " / ", name);
  const page = { name, view: null, series: null, events: [], historyKey: null };
  state.page = page;
  $("#main").replaceChildren(
    h("section", { class: "panel", id: "summary" }, h("h1", {}, name), h("p", { class: "muted" }, "Connecting…")),
    h("section", { class: "panel", id: "mesh" }, h("h2", {}, "Mesh")),
    h("div", { class: "charts", id: "charts" }),
    h("div", { class: "row" },
      h("section", { class: "panel", id: "rollout" }, h("h2", {}, "Rollout")),
      h("section", { class: "panel", id: "history" }, h("h2", {}, "History"))),
    h("section", { class: "panel", id: "events" }, h("h2", {}, "Events"),
      h("div", { class: "filters" },
        h("input", { id: "event-filter", type: "search", placeholder: "Filter events", oninput: () => renderEvents(page) }),
        h("select", { id: "event-kind", onchange: () => renderEvents(page) }, h("option", { value: "" }, "Every kind"))),
      h("div", { class: "events" }, h("table", {}, h("tbody", { id: "event-rows" })))));

  const base = `/v1/runs/${encodeURIComponent(name)}`;
  const views = new EventSource(`${base}/view?watch=true`);
  views.addEventListener("view", (message) => {
    page.view = JSON.parse(message.data);
    renderSummary(page);
    renderMesh(page);
    renderRollout(page);
    const key = `${page.view.activeRevision}/${page.view.generation}/${page.view.rollout.rollout ? page.view.rollout.rollout.phase : ""}`;
    if (key !== page.historyKey) { page.historyKey = key; loadHistory(page); }
    // When the first view is drawn, in milliseconds since the page began to load (the benchmark reads it).
    if (!document.body.dataset.renderedAt) document.body.dataset.renderedAt = String(performance.now());
  });
  views.addEventListener("event", (message) => {
    page.events.push(JSON.parse(message.data));
    if (page.events.length > 2000) page.events.splice(0, page.events.length - 2000);
    clearTimeout(page.eventsTimer);
    page.eventsTimer = setTimeout(() => renderEvents(page), 100);
  });
  views.addEventListener("series", (message) => {
    page.series = JSON.parse(message.data);
    renderCharts(page);
    if (!document.body.dataset.chartsAt) document.body.dataset.chartsAt = String(performance.now());
  });
  views.onerror = () => { if (views.readyState === EventSource.CLOSED) toast("The live view closed; reload the page.", true); };
  state.streams.push(views);
}

function renderSummary(page) {
  const view = page.view;
  const facts = [
    ["phase", h("span", { class: `badge ${view.phase}`, id: "phase" }, view.phase)],
    ["revision", String(view.activeRevision)],
    ["replicas live", `${view.live} of ${view.desired}`],
    ["outer step", String(view.outerStep)],
    ["last quorum", view.lastQuorumAt ? age(view.lastQuorumAt, view.now) : "none yet"],
  ];
  const conditions = view.conditions.map((condition) => h("span", {
    class: `badge ${condition.status === (condition.type === "Degraded") ? "bad" : "ok"}`, title: condition.message,
  }, `${condition.type}: ${condition.reason}`));
  const children = [h("h1", {}, view.name),
    h("div", { class: "facts" }, facts.map(([label, value]) => h("div", { dataset: { fact: label } }, h("b", {}, value), h("span", {}, label)))),
    h("p", {}, conditions)];
  if (canOperate()) children.push(actions(page));
  $("#summary").replaceChildren(...children);
}

function actions(page) {
  const view = page.view;
  const rollout = view.rollout.rollout;
  const base = `/v1/runs/${encodeURIComponent(view.name)}`;
  const act = (label, title, text, path, enabled, danger = false) => h("button", {
    class: danger ? "danger" : "", disabled: !enabled, dataset: { action: label.toLowerCase().replace(/ /g, "-") },
    onclick: async () => {
      if (!(await confirmAction(title, text))) return;
      try {
        await api(base + path, { method: "POST", body: path.endsWith("/undo") ? "{}" : undefined });
        toast(`${label}: done`);
      } catch (error) {
        toast(`${label}: ${error.message}`, true);
      }
    },
  }, label);
  const canary = rollout && (rollout.phase === "canary" || rollout.phase === "awaitingPromotion");
  return h("div", { class: "actions", id: "actions" },
    view.rollout.paused
      ? act("Resume rollouts", "Resume rollouts?", "Rollouts go on: activation steps, promotions and relaunches resume.", "/rollout/resume", true)
      : act("Pause rollouts", "Pause rollouts?", "No rollout advances (no new activation step, promotion or relaunch) until resumed.", "/rollout/pause", true),
    act("Promote", "Promote the canary?", `Revision ${rollout ? rollout.revision : "?"} goes to every site now, whatever its gate says.`, "/rollout/promote", canary),
    act("Undo rollout", "Undo the last rollout?", "A new revision restores the one the current rollout started from, rolled out the same way.", "/rollout/undo", view.activeRevision > 1),
    view.phase === "running"
      ? act("Stop run", `Stop run ${view.name}?`, "Every member drains after its current outer step; the agents launch nothing until the run is resumed.", "/stop", true, true)
      : act("Resume run", `Resume run ${view.name}?`, "Its agents launch its replicas again; they resume from their checkpoints.", "/resume", true));
}

// The site's link as its members measured it: slow (below half the declared bandwidth) is a red badge that names
// the member and where it sends.
function linkLine(link) {
  const mbps = (value) => (value >= 100 ? Math.round(value) : value.toFixed(1)) + " Mbit/s";
  if (!link) return h("div", { class: "link muted" }, "link unknown");
  if (link.measuredMbps == null) return h("div", { class: "link muted" }, `${mbps(link.declaredMbps)} declared, not measured (no sync long enough to time)`);
  return h("div", { class: "link", dataset: { slow: link.slow ? "true" : "false" } },
    link.slow ? h("span", { class: "badge bad" }, "slow link") : "",
    `measured ${mbps(link.measuredMbps)} ${link.from ? `(${link.from} → ${link.to || "?"})` : ""} of ${mbps(link.declaredMbps)} declared`);
}

function renderMesh(page) {
  const view = page.view;
  const sites = view.sites.map((site) => {
    const live = site.slots.filter((slot) => slot.health === "live").length;
    return h("div", { class: "site", dataset: { site: site.name } },
      h("h3", {}, site.name, h("small", {}, `${site.region ? site.region + " · " : ""}${site.launcher} · ${site.bandwidth}${site.syncSeconds != null ? ` · outer sync ≈ ${duration(site.syncSeconds)}` : ""} · ${live} of ${site.slots.length} live`)),
      linkLine(site.link),
      h("div", { class: "slots" }, site.slots.map((slot) => h("div", {
        class: "slot", dataset: { slot: slot.slot, health: slot.health, state: slot.state || "" },
        title: slot.member ? `member ${slot.member}` : "no member",
      },
      h("span", { class: "health" }, slot.health),
      h("b", {}, slot.slot), h("br"),
      slot.member ? `${slot.member.slice(0, 8)} · inc ${slot.incarnation}` : slot.lastMember ? `was ${slot.lastMember.slice(0, 8)}` : "never launched", h("br"),
      slot.state ? `${slot.state} · step ${slot.outerStep}` : "", h("br"),
      slot.member ? `rev ${slot.activeRevision ?? "?"}${slot.acknowledged && slot.acknowledged !== slot.activeRevision ? ` (loaded ${slot.acknowledged})` : ""} · ${age(slot.lastHeartbeat, view.now)}` : ""))));
  });
  $("#mesh").replaceChildren(h("h2", {}, `Mesh: ${view.live} of ${view.desired} replicas live`), h("div", { class: "sites" }, sites));
}

function renderRollout(page) {
  const status = page.view.rollout;
  const rollout = status.rollout;
  const children = [h("h2", {}, "Rollout")];
  if (status.paused) children.push(h("p", {}, h("span", { class: "badge pending" }, "paused"), " no rollout advances until resumed"));
  if (!rollout) {
    children.push(h("p", { class: "muted" }, `Revision ${status.activeRevision} is active everywhere; no rollout yet.`));
  } else {
    children.push(h("p", { id: "rollout-line" },
      h("b", {}, `Revision ${rollout.revision}`), ` from ${rollout.from} · `, h("span", { class: `badge ${rollout.strategy}` }, rollout.strategy),
      h("span", { class: `badge ${rollout.phase}`, id: "rollout-phase" }, rollout.phase),
      rollout.activationStep != null ? ` ${rollout.phase === "complete" ? "active from" : "activates at"} outer step ${rollout.activationStep}` : ""),
    h("p", { class: "muted" }, `${rollout.summary} · applied by ${rollout.appliedBy}`),
    rollout.reason ? h("p", {}, rollout.reason) : null);
    const gate = page.view.gate;
    if (gate) {
      const excess = gate.canaryLoss != null && gate.otherLoss ? gate.canaryLoss / gate.otherLoss - 1 : null;
      children.push(h("div", { id: "gate" }, h("h3", {}, `Canary gate${gate.gateStep != null ? ` at outer step ${gate.gateStep}` : ""}`),
        h("p", {}, `canaries (${gate.canarySites.join(", ")}): ${gate.canaryLoss != null ? gate.canaryLoss.toFixed(4) : "no report yet"} · others: ${gate.otherLoss != null ? gate.otherLoss.toFixed(4) : "no report yet"} · `,
          excess != null ? h("span", { class: `badge ${excess > gate.tolerance ? "bad" : "ok"}` }, `${(excess * 100).toFixed(1)} % against a tolerance of ${(gate.tolerance * 100).toFixed(1)} %`) : `tolerance ${(gate.tolerance * 100).toFixed(1)} %`)));
    }
  }
  children.push(h("table", { id: "rollout-sites" },
    h("thead", {}, h("tr", {}, ["Site", "Covered", "Loaded", "Training with it", "Relaunches left"].map((title) => h("th", {}, title)))),
    h("tbody", {}, status.sites.map((site) => h("tr", { dataset: { site: site.site } },
      h("td", {}, site.site),
      h("td", {}, site.covered ? "yes" : "not yet"),
      h("td", {}, `${site.acknowledged} of ${site.members}`),
      h("td", {}, h("div", { class: "progress", title: `${site.active} of ${site.members}` },
        h("div", { dataset: { fraction: site.members ? site.active / site.members : 0 } }))),
      h("td", {}, site.pendingRestarts != null ? String(site.pendingRestarts) : "—"))))));
  $("#rollout").replaceChildren(...children.filter(Boolean));
  for (const bar of document.querySelectorAll("#rollout-sites .progress > div")) bar.style.width = `${Math.round(Number(bar.dataset.fraction) * 100)}%`;
}

async function loadHistory(page) {
  let entries;
  try { entries = await api(`/v1/runs/${encodeURIComponent(page.name)}/rollout/history`); } catch (error) { return; }
  const revisions = entries.slice().reverse().map((entry) => h("div", { class: "revision", dataset: { revision: entry.revision } },
    h("h3", {}, `Revision ${entry.revision} `, entry.active ? h("span", { class: "badge ok" }, "active") : null,
      entry.outcome ? h("span", { class: `badge ${entry.outcome}` }, entry.outcome) : null),
    h("p", { class: "muted" }, `${entry.summary} · ${entry.appliedBy} · ${new Date(entry.appliedAt).toLocaleString()}`),
    entry.reason ? h("p", {}, entry.reason) : null,
    entry.fields.length ? h("table", { class: "diff" }, h("tbody", {}, entry.fields.map((field) => h("tr", { dataset: { path: field.path } },
      h("td", {}, h("span", { class: `badge ${field.class}` }, field.site ? `${field.class} (${field.site})` : field.class)),
      h("td", { class: "path" }, `${field.kind} ${field.path}`),
      h("td", { class: "values" }, field.kind === "~" ? `${field.old} → ${field.new}` : (field.new ?? field.old ?? "")))))) : null));
  $("#history").replaceChildren(h("h2", {}, "History"), ...revisions);
}

function renderEvents(page) {
  const text = $("#event-filter").value.trim().toLowerCase();
  const kindSelect = $("#event-kind");
  const kinds = [...new Set(page.events.map((event) => event.kind))].sort();
  if (kinds.length !== kindSelect.options.length - 1) {
    const chosen = kindSelect.value;
    kindSelect.replaceChildren(h("option", { value: "" }, "Every kind"), ...kinds.map((kind) => h("option", { value: kind }, kind)));
    kindSelect.value = chosen;
  }
  const kind = kindSelect.value;
  const shown = page.events.filter((event) => (!kind || event.kind === kind) && (!text || `${event.kind} ${event.message}`.toLowerCase().includes(text)));
  $("#event-rows").replaceChildren(...shown.slice(-500).reverse().map((event) => h("tr", { dataset: { kind: event.kind } },
    h("td", { class: "time" }, new Date(event.time || event.at || event.createdAt).toLocaleTimeString()),
    h("td", {}, h("span", { class: "badge" }, event.kind)),
    h("td", {}, event.message))));
}

// ---- Charts (the project's own SVG) ---------------------------------------------------------------------------------

function renderCharts(page) {
  const series = page.series;
  const quorums = series.quorums;
  const pace = [];
  for (let index = 1; index < quorums.length; index++) {
    const steps = quorums[index].step - quorums[index - 1].step;
    if (steps > 0) pace.push([quorums[index].step, (new Date(quorums[index].at) - new Date(quorums[index - 1].at)) / 1000 / steps]);
  }
  const byName = (object) => Object.keys(object).sort().map((name) => ({ name, points: object[name] }));
  $("#charts").replaceChildren(
    chart("quorum-chart", "Quorum size", [{ name: "members", points: quorums.map((quorum) => [quorum.step, quorum.size]) }], { integer: true }),
    chart("pace-chart", "Outer-step pace (seconds per step)", [{ name: "seconds per step", points: pace }], {}),
    chart("loss-chart", "Training loss per replica", byName(series.loss), {}),
    chart("eval-chart", "Evaluation loss per data source", byName(series.eval), {}));
}

function chart(id, title, lines, options) {
  const width = 560, height = 220, left = 48, right = 12, top = 10, bottom = 28;
  const points = lines.flatMap((line) => line.points);
  const svg = h("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  const box = h("section", { class: "panel chart", id, dataset: { points: points.length, series: lines.length } }, h("h2", {}, title), svg);
  if (points.length === 0) {
    svg.append(h("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no points yet"));
    return box;
  }
  const xs = points.map((point) => point[0]), ys = points.map((point) => point[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= options.integer ? 1 : Math.abs(y0) * 0.1 || 1; y1 += options.integer ? 1 : Math.abs(y1) * 0.1 || 1; }
  if (options.integer) y0 = Math.min(0, y0);
  const sx = (x) => left + (x - x0) / (x1 - x0) * (width - left - right);
  const sy = (y) => height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom);
  // Outer steps (and quorum sizes) are whole numbers: their ticks fall on whole numbers, each once.
  const wholeTicks = (from, to) => {
    const step = Math.max(1, Math.ceil((to - from) / 5));
    const ticks = [];
    for (let value = Math.ceil(from); value <= to; value += step) ticks.push(value);
    return ticks;
  };
  const yTicks = options.integer ? wholeTicks(y0, y1) : [0, 1, 2, 3, 4].map((tick) => y0 + (y1 - y0) * tick / 4);
  for (const y of yTicks) {
    svg.append(h("line", { class: "grid", x1: left, x2: width - right, y1: sy(y), y2: sy(y) }),
      h("text", { x: left - 4, y: sy(y) + 3, "text-anchor": "end" }, options.integer ? String(y) : y.toPrecision(3)));
  }
  for (const x of wholeTicks(x0, x1)) svg.append(h("text", { x: sx(x), y: height - bottom + 14, "text-anchor": "middle" }, String(x)));
  svg.append(h("line", { class: "axis", x1: left, x2: left, y1: top, y2: height - bottom }),
    h("line", { class: "axis", x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }),
    h("text", { x: width - right, y: height - 2, "text-anchor": "end" }, "outer step"));
  lines.forEach((line, index) => {
    if (line.points.length === 0) return;
    const color = COLORS[index % COLORS.length];
    svg.append(h("polyline", {
      stroke: color, dataset: { series: line.name },
      points: line.points.map((point) => `${sx(point[0]).toFixed(1)},${sy(point[1]).toFixed(1)}`).join(" "),
    }));
    // A few points are drawn as dots too: a series of one point has no line to show.
    if (line.points.length <= 40 && lines.length <= 20) {
      for (const point of line.points) svg.append(h("circle", { cx: sx(point[0]).toFixed(1), cy: sy(point[1]).toFixed(1), r: 2.5, fill: color }));
    }
  });
  const legend = lines.slice(0, 12).map((line, index) => h("span", {}, h("i", { dataset: { color: COLORS[index % COLORS.length] } }), line.name));
  if (lines.length > 12) legend.push(h("span", {}, `and ${lines.length - 12} more`));
  box.append(h("div", { class: "legend" }, legend));
  for (const swatch of box.querySelectorAll(".legend i")) swatch.style.background = swatch.dataset.color;
  return box;
}

document.addEventListener("DOMContentLoaded", start);
// A page left behind closes its stream at once: the browser's few connections to the server are for the next page.
window.addEventListener("pagehide", closeStreams);
