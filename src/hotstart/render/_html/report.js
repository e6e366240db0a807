// hotstart report: draws the page from the JSON in #data (layout: render/_html_data.py).
// Every name, path and argv is untrusted: the page is built with createElement and
// textContent only, never from HTML strings.
"use strict";
(() => {
const D = JSON.parse(document.getElementById("data").textContent);
const S = D.s, A = D.audit, N = D.processes.length;
const $ = (id) => document.getElementById(id);
const str = (i) => (i == null || i < 0 ? null : S[i]);
const siteOf = (p, l) => (p < 0 ? null : l < 0 ? S[p] : S[p] + ":" + l);
// The chart draws at most MAX_NODES nodes, the shallowest first, none narrower than MIN_PX:
// a 10,000-module tree stays a few thousand elements. Tables show PAGE rows at a time.
// Lists of any length (hot calls, notes, hot spots, processes) show PAGE items at a time, kinds
// and classes at most FEW: no input makes the page build unbounded elements.
const ROW = 20, MIN_PX = 2, MAX_NODES = 2500, ABOVE = 30, PAGE = 200, DPAGE = 25, CHAINS = 25, FEW = 40;
const st = {proc: 0, metric: "cumulative", zoom: -1, sel: -1, search: "", hit: -1,
  sort: "cum", dir: -1, filter: "", kind: "", rows: PAGE,
  dsort: "dself", ddir: -1, dchange: "", drows: DPAGE, klass: null, arows: PAGE, hrows: PAGE,
  nrows: PAGE, prows: PAGE, srows: PAGE};

// Text as shown: control and bidirectional-override characters (which would reorder or hide
// the text around them) as \u escapes, as the text renderers' `printable` does.
const display = (x) => String(x).replace(/[\0-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g,
  (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
// Children: nodes and strings; null, false, 0 and "" (from `cond && node`) are left out.
const flat = (kids) => kids.flat(9).filter((k) => k instanceof Node || (typeof k === "string" && k));
function h(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const k in props) {
    const v = props[k];
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = display(v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "data") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : k === "title" ? display(v) : v);
  }
  e.append(...flat(kids).map((k) => (typeof k === "string" ? display(k) : k)));
  return e;
}
const t = (tag, cls, text, title) => h(tag, {class: cls, text, title});
const fill = (box, ...kids) => box.replaceChildren(...flat(kids));
const muted = (text) => t("p", "muted", text);
const fixed = (v) => (v === 0 ? "0" : v.toFixed(Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 1 ? 1 : 2));
const ms = (us) => (us == null ? "–" : fixed(us / 1e3));
const msu = (us) => (us == null ? "–" : ms(us) + " ms");
const dms = (us) => (us == null ? "–" : (us > 0 ? "+" : "") + ms(us));
function size(b, signed) {
  if (b == null) return "–";
  const a = Math.abs(b), s = b < 0 ? "-" : signed && b > 0 ? "+" : "";
  return s + (a < 2 ** 20 ? (a / 1024).toFixed(0) + "K" : a < 2 ** 30 ?
    (a / 2 ** 20).toFixed(1) + "M" : (a / 2 ** 30).toFixed(2) + "G");
}
const mem = (b) => size(b, true);
// A median, then (min–max) when they differ; `g` writes the range without the unit.
const stat = (s, f, g = f) => (s ? f(s[0]) + (s[1] !== s[2] ? ` (${g(s[1])}–${g(s[2])})` : "") : "–");
function shortSite(s, keep = 2) {
  if (!s) return "";
  const at = s.lastIndexOf(":"), line = /^:\d+$/.test(s.slice(at)) ? s.slice(at) : "";
  return (line ? s.slice(0, at) : s).split(/[\\/]/).slice(-keep).join("/") + line;
}
const plural = (n, w) => `${n} ${w}${n === 1 ? "" : /(?:h|s)$/.test(w) ? "es" : "s"}`;
// A dotted name that may wrap after its dots; one of more than FEW parts (no module's) wraps
// anywhere: a million dots must not make two million elements.
function dotted(name) {
  const parts = name.length > 50 * FEW ? [] : name.split(/(?<=\.)/);
  if (parts.length > FEW || (!parts.length && name)) return h("span", {class: "n long"}, name);
  return h("span", {class: "n"}, parts.map((x, k) => [k ? h("wbr", {}) : null, x]));
}
const kindBadge = (kind) => h("span", {class: "kind", data: {kind}, text: kind});
const card = (id, title, ...kids) => h("section", {id, class: "card"}, title && t("h2", null, title), kids);
// A row of toggle buttons, data-`attr` = each key of `items` ([key, label]); `more` adds props.
const toggles = (id, attr, items, on, pick, more = () => ({})) => h("div", {class: "switch", id}, items.map(([k, x]) =>
  h("button", {data: {[attr]: k ?? ""}, "aria-pressed": String(k === on), text: x, onclick: () => pick(k), ...more(k)})));

// -- one process: its modules and tree, built once ----------------------------------------
const procs = [];
function proc(pi) {
  if (procs[pi]) return procs[pi];
  const R = D.processes[pi], m = R.m, n = m.name.length, T = R.threads.length;
  const P = {R, m, n, name: m.name.map((i) => S[i]), importer: m.importer.map(str),
    kind: m.kind.map((k) => D.kinds[k]), site: m.site_path.map((p, i) => siteOf(p, m.site_line[i])),
    srss: m.self_rss, crss: m.cum_rss, byName: new Map(), sites: new Map(), added: new Set()};
  const present = new Set(m.kind);  // the kinds of this process, in the order of D.kinds
  P.kinds = D.kinds.filter((k, j) => present.has(j));
  P.name.forEach((x, i) => P.byName.has(x) || P.byName.set(x, i));
  // The chart's tree: node n is the whole process; with several threads, n+1+t each thread.
  const multi = T > 1, total = n + 1 + (multi ? T : 0);
  P.parent = new Int32Array(total).fill(-1);
  P.kids = Array.from({length: total}, () => []);
  for (let k = 0; multi && k < T; k++) { P.parent[n + 1 + k] = n; P.kids[n].push(n + 1 + k); }
  for (const i of [...Array(n).keys()].sort((a, b) => m.order[a] - m.order[b])) {
    let p = P.importer[i] == null ? undefined : P.byName.get(P.importer[i]);
    if (p === undefined || p === i) p = multi ? n + 1 + m.thread[i] : n;
    P.parent[i] = p;
    P.kids[p].push(i);
  }
  // Preorder, iterative (import trees can be thousands of levels deep); a module caught in
  // an importer cycle is unreachable, and left out.
  P.pre = [];
  for (const stack = [n]; stack.length;) {
    const v = stack.pop();
    P.pre.push(v);
    for (let k = P.kids[v].length - 1; k >= 0; k--) stack.push(P.kids[v][k]);
  }
  P.label = (v) => (v < n ? P.name[v] : v === n ? "all" : "thread " + R.threads[v - n - 1]);
  if (A) A.sites.forEach((s, j) => (P.sites.get(s.imported) || P.sites.set(s.imported, []).get(s.imported)).push(j));
  const diff = D.diff && D.diff.processes[pi];
  if (diff) diff.rows.name.forEach((x, j) => diff.rows.change[j] === 0 && P.added.add(S[x]));
  return (procs[pi] = P);
}
const cur = () => proc(st.proc);

// Width of every chart node for a metric: its own figure (negative: 0) plus its children's,
// so children always fit inside their parent (cumulative: the measured figure when larger).
function widths(P, metric) {
  if (P.wKey === metric) return P.w;
  const w = new Float64Array(P.parent.length), m = P.m;
  for (let j = P.pre.length - 1; j >= 0; j--) {
    const i = P.pre[j];
    let sum = 0;
    for (const c of P.kids[i]) sum += w[c];
    w[i] = i >= P.n ? sum : metric === "cumulative" ? Math.max(m.cum[i], sum) :
      metric === "self" ? Math.max(0, m.self[i]) + sum : Math.max(0, (P.srss && P.srss[i]) || 0) + sum;
  }
  P.wKey = metric;
  return (P.w = w);
}
function figure(P, i) {
  const metric = st.metric, memory = metric === "memory";
  if (i >= P.n) return (memory ? size : msu)(widths(P, metric)[i]);
  return memory ? mem(P.srss[i]) : msu(metric === "self" ? P.m.self[i] : P.m.cum[i]);
}

// -- the summary and the process switcher ---------------------------------------------------
// The first FEW items, and how many more.
const few = (list) => (list.length > FEW ? [...list.slice(0, FEW), `… ${list.length - FEW} more`] : list);
const fact = (label, value, title) => h("div", {class: "fact", title}, t("dt", null, label), t("dd", null, value));
function renderSummary() {
  const p = D.profile, warn = [], P = N && cur(), R = P && P.R;
  if (p.failed) warn.push(p.timed_out ? "The target timed out" : `The target exited with code ${p.exit_code}`);
  if (!N) warn.push("No Python process was traced");
  const partial = D.processes.flatMap((X, i) => (X.complete ? [] : [`${i} (pid ${X.pid})`]));
  if (partial.length) warn.push(`Process ${few(partial).join(", ")} ended before reporting: figures are partial`);
  fill($("summary"), t("h1", null, D.title), h("p", {class: "target"}, t("code", null, p.command)),
    h("dl", {class: "facts", id: "facts"}, fact("Python", p.python || "?"),
      fact("wall", stat(p.wall, msu, ms), "median (min–max)"),
      fact("floor", stat(p.floor, msu, ms), "python -c pass, same runs"),
      fact("start-up", msu(p.wall && p.floor ? p.wall[0] - p.floor[0] : null), "wall minus floor"),
      fact("runs", `${p.runs}${p.warmup ? ` + ${p.warmup} warm-up` : ""} · ${p.engine}`),
      R && [fact("process", `pid ${R.pid}${R.parent_pid ? ` (parent ${R.parent_pid})` : ""}`, R.command),
        N > 1 && fact("process wall", stat(R.wall, msu, ms)),
        fact("peak RSS", stat(R.peak_rss, size)), fact("USS", stat(R.uss, size)),
        fact("modules", `${R.imported} imported · ${R.module_count} at exit`,
          `${R.preloaded} loaded before the target by the interpreter`),
        R.threads.length > 1 && fact("threads", few(R.threads).join(", "))],
      p.created && fact("created", p.created)),
    warn.length && h("p", {class: "warn", id: "failed"}, warn.join(". ") + "."),
    h("nav", {}, [["chart-card", "Chart"], ["modules", "Modules"], ["chains", "Chains"], ["hot-calls", "Hot calls"],
      A && ["audit", "Audit"], D.diff && ["diff", "Diff"], ["notes", "Notes"]].filter(Boolean)
      .map(([id, x]) => h("a", {href: "#" + id, text: x}))));
}
function renderProcesses() {
  const box = $("processes");
  box.hidden = N < 2;
  if (N > 1) fill(box, t("h2", null, "Processes"), h("div", {class: "switch"}, D.processes.slice(0, Math.max(st.prows, st.proc + 1)).map((R, i) => {
    const count = R.threads.map(() => 0);
    for (const x of R.m.thread) count[x]++;
    return h("button", {class: "proc", data: {process: i}, "aria-pressed": String(i === st.proc), onclick: () => switchProcess(i)},
      t("b", null, `[${i}] pid ${R.pid}`), t("span", "argv", R.command),
      t("span", "muted", `· ${R.imported} modules · ${stat(R.wall, msu, ms)}`),
      t("span", "threads", "threads: " + few(R.threads.map((x, j) => `${x} (${count[j]})`)).join(", ")));
  })), moreButton("processes-more", Math.max(st.prows, st.proc + 1), N, () => { st.prows += PAGE; renderProcesses(); }));
}
function switchProcess(i) {
  Object.assign(st, {proc: i, zoom: -1, sel: -1, rows: PAGE, drows: DPAGE, hrows: PAGE});
  if (!cur().srss) st.metric = st.metric === "memory" ? "cumulative" : st.metric;
  renderSummary(); renderProcesses(); renderChartTools(); drawChart(); renderTable();
  renderDetails(); renderChains(null); renderHot(); renderDiff();
}

// -- the icicle chart -----------------------------------------------------------------------
function renderChartTools() {
  const P = cur();
  $("chart-metric").replaceWith(toggles("chart-metric", "metric",
    [["self", "self time"], ["cumulative", "cumulative time"], ["memory", "memory"]],
    st.metric, (k) => { st.metric = k; renderChartTools(); drawChart(); },
    (k) => (k === "memory" && !P.srss ? {disabled: true, title: "no memory figures in this profile (the memory run was not made)"} : {})));
  fill($("legend"), P.kinds.slice(0, FEW).map(kindBadge), P.kinds.length > FEW && t("span", "muted", `+${P.kinds.length - FEW} kinds`),
    P.added.size && t("span", "kind added-mark", "added since before"));
}
function drawChart() {
  const chart = $("chart");
  if (!N) return fill(chart, muted("Nothing to draw."));
  const P = cur(), W = chart.clientWidth || 1000, w = widths(P, st.metric), n = P.n, q = st.search;
  if (st.zoom < 0 || st.zoom >= P.parent.length) st.zoom = n;
  const z = st.zoom, frag = [], above = [];
  let rows = 0;
  const add = (i, x, wd, row, cls) => {
    const name = i < n ? P.name[i] : null;
    const e = h("div", {class: "node" + cls + (q && name && name.toLowerCase().includes(q) ? " match" : "") +
      (i === st.sel ? " sel" : "") + (P.added.has(name) ? " added" : ""), data: {i, kind: name ? P.kind[i] : "group"}});
    if (name != null) e.dataset.module = name;
    Object.assign(e.style, {left: (x / W) * 100 + "%", width: (wd / W) * 100 + "%", top: row * ROW + "px"});
    if (wd > 40) e.textContent = display(P.label(i) + " " + figure(P, i));
    frag.push(e);
    rows = Math.max(rows, row + 1);
  };
  // Its importers above it, the nearest ABOVE of them (a tree can be thousands deep).
  for (let a = P.parent[z]; a >= 0 && above.length < ABOVE; a = P.parent[a]) above.push(a);
  above.reverse();
  above.forEach((a, r) => add(a, 0, W, r, " above"));
  // Breadth first: when the budget runs out, what is left undrawn is the deepest.
  const queue = [[z, 0, W, above.length]];
  for (let k = 0; k < queue.length && frag.length < MAX_NODES; k++) {
    const [i, x, wd, row] = queue[k];
    add(i, x, wd, row, i === z ? " zoomed" : "");
    let cx = x;
    for (const c of w[i] ? P.kids[i] : []) {
      const cw = (w[c] / w[i]) * wd;
      if (cw >= MIN_PX) queue.push([c, cx, cw, row + 1]);
      cx += cw;
    }
  }
  fill(chart, frag);
  chart.style.height = rows * ROW + "px";
  Object.assign(chart.dataset, {drawn: frag.length, max: MAX_NODES, zoom: P.label(z)});
  chart.classList.toggle("searching", !!q);
  const crumb = (a) => h("button", {data: {i: a}, text: P.label(a), onclick: () => zoomTo(a)}), path = [...above, z];
  fill($("breadcrumb"), path[0] !== n || path.length > 8 ? [crumb(n), t("span", null, "…"), path.slice(-6).map(crumb)] : path.map(crumb));
}
function zoomTo(i) { st.zoom = i; drawChart(); }
const hits = (P) => (st.search ? P.name.filter((x) => x.toLowerCase().includes(st.search)).length : 0);
function searchChart() {
  st.search = $("chart-search").value.trim().toLowerCase();
  st.hit = -1;
  const count = hits(cur()), out = $("chart-matches");
  out.textContent = st.search ? plural(count, "match") : "";
  out.dataset.count = count;
  drawChart();
}
function nextHit() {
  const P = cur();
  for (let k = 1; st.search && k <= P.n; k++) {
    const i = (st.hit + k) % P.n;
    if (P.name[i].toLowerCase().includes(st.search)) return select((st.hit = i), true);
  }
}
function tooltip(ev) {
  const tip = $("tooltip"), e = ev.target.closest(".node");
  tip.hidden = !e;
  if (!e) return;
  const P = cur(), i = +e.dataset.i, m = P.m;
  fill(tip, t("b", null, P.label(i)), i < P.n ? [h("div", {}, kindBadge(P.kind[i]), " ", str(m.dist[i])),
    t("div", null, `self ${msu(m.self[i])} · cumulative ${msu(m.cum[i])}` + (P.crss ? ` · memory ${mem(P.crss[i])}` : "")),
    P.site[i] && t("div", "muted", "imported at " + shortSite(P.site[i], 3))] : t("div", null, figure(P, i)));
  tip.style.left = Math.min(ev.clientX + 14, innerWidth - tip.offsetWidth - 8) + "px";
  tip.style.top = ev.clientY + 16 + "px";
}

// -- selection: details and chains ----------------------------------------------------------
function select(i, zoom) {
  const P = cur();
  if (i >= P.n) return zoomTo(i);
  st.sel = i;
  if (zoom) st.zoom = i;
  drawChart();
  for (const r of document.querySelectorAll("#module-table tbody tr")) r.classList.toggle("sel", r.dataset.i === String(i));
  renderDetails();
  renderChains(P.name[i]);
}
function selectName(name) {
  const i = cur().byName.get(name);
  if (i !== undefined) select(i, true);
}
const modLink = (name) => h("button", {class: "modlink", data: {module: name}, onclick: () => selectName(name)}, dotted(name));
const klassBadge = (s) => h("span", {class: "badge", data: {klass: s.klass}, text: s.klass,
  title: `${s.file}:${s.line}: ${s.statement}\n${s.reason}`});
const sitesOf = (P, name) => (P.sites.get(name) || []).map((j) => A.sites[j]);
const bestSaving = (P, name) => sitesOf(P, name).reduce((b, s) => (s.saving && (b == null || s.saving.us > b) ? s.saving.us : b), null);
function renderDetails() {
  const box = $("details-body"), P = N && cur(), i = st.sel;
  if (!P || i < 0) return fill(box, muted("Click a module in the chart or the table."));
  const m = P.m, status = str(m.status[i]), imp = P.importer[i], name = P.name[i];
  const row = (k, v) => v != null && v !== "" && h("tr", {}, t("th", null, k), h("td", {}, v));
  const range = (v, lo, hi) => `${msu(v[i])} (${ms(lo[i])}–${ms(hi[i])})`;
  fill(box, t("h3", null, name),
    h("p", {}, kindBadge(P.kind[i]), " ", str(m.dist[i]), status !== "ok" && t("span", "badge warn", status),
      P.added.has(name) && t("span", "badge added-mark", "added")),
    h("table", {class: "kv"}, row("self", range(m.self, m.self_lo, m.self_hi)),
      row("cumulative", range(m.cum, m.cum_lo, m.cum_hi)),
      P.srss && row("self memory", mem(P.srss[i])), P.crss && row("cum. memory", mem(P.crss[i])),
      row("imported by", imp == null ? "the entrypoint" : P.byName.has(imp) ? modLink(imp) : imp),
      row("imported at", P.site[i]), row("file", str(m.file[i])), row("started", msu(m.start[i])),
      row("thread", P.R.threads[m.thread[i]]), row("runs", `${m.runs[i]} of ${D.profile.runs}`),
      row("bytecode", str(m.bytecode[i])), row("loaded", plural(P.kids[i].length, "module"))),
    P.sites.has(name) && [t("h4", null, "Import sites (audit)"), h("ul", {class: "sites"}, sitesOf(P, name).slice(0, FEW).map((s) => h("li", {},
      klassBadge(s), " ", t("code", null, s.statement), " ", t("span", "muted", shortSite(`${s.file}:${s.line}`, 3)),
      s.saving && s.saving.us && t("span", "saving", ` saves ~${msu(s.saving.us)}, ${size(s.saving.rss)}`),
      s.reason && t("div", "muted", s.reason), s.fix && t("div", "fix", "fix: " + s.fix)))),
      P.sites.get(name).length > FEW && muted(`… and ${P.sites.get(name).length - FEW} more in the audit below`)],
    h("button", {class: "action", text: "Zoom the chart here", onclick: () => zoomTo(i)}));
}

// The chains that load a module: `find_chains` of render/why.py, step for step (see there
// for the rule: only real chains; the first-load chain, then the others shortest first).
function into(P) {
  if (P.into) return P.into;
  const map = (P.into = new Map()), e = P.R.edges, lengths = new Set(P.name.map((x) => x.length)), loads = new Map();
  // The modules importing `named` loads: it and each prefix at a dot, longest first (why.py's
  // parts[:cut]); once per name, looking up only prefixes as long as some module's name (a
  // name of many dots cost the square of its length).
  const loaded = (named) => {
    const out = [];
    for (let cut = named.length; cut >= 0; cut = cut ? named.lastIndexOf(".", cut - 1) : -1) {
      const module = lengths.has(cut) && (cut === named.length ? named : named.slice(0, cut));
      if (module !== false && P.byName.has(module)) out.push(module);
    }
    return out;
  };
  for (let k = 0; k < e.length; k += 4) {
    const importer = S[e[k]], named = S[e[k + 1]], site = siteOf(e[k + 2], e[k + 3]);
    if (!loads.has(e[k + 1])) loads.set(e[k + 1], loaded(named));
    for (const module of loads.get(e[k + 1]))
      if (importer !== module && !(importer[module.length] === "." && importer.startsWith(module)))
        (map.get(module) || map.set(module, []).get(module)).push({importer, module, named, site});
  }
  return map;
}
function chains(pi, name, limit = CHAINS, budget = 20000, countUpTo = 1000) {
  const P = proc(pi), rec = (x) => P.byName.get(x), order = (x) => (x && rec(x) !== undefined ? P.m.order[rec(x)] : -1);
  const target = rec(name), first = [];
  for (let r = target; r !== undefined && first.length <= P.n; r = P.importer[r] ? rec(P.importer[r]) : undefined)
    first.push({importer: P.importer[r], module: P.name[r], named: P.name[r], site: P.site[r]});
  first.reverse();
  const found = [], shown = first.length ? [first] : [];
  if (target === undefined) return {shown, more: 0, complete: true};
  const tOrder = P.m.order[target], map = into(P);
  const key = (c) => JSON.stringify(c.map((l) => l.module));
  const sites = (c) => c.filter((l) => l.site).map((l) => l.site);
  const within = (a, b) => {  // every item of a in b, in order
    let j = 0;
    for (const x of a) {
      while (j < b.length && b[j] !== x) j++;
      if (j++ >= b.length) return false;
    }
    return true;
  };
  const seen = new Set(shown.map(key)), seenSites = shown.map(sites);
  const path = (link, rest, ord) => ({link, rest, ord, links: 1 + (rest ? rest.links : 0)});
  const walk = (p) => { const out = []; for (; p; p = p.rest) out.push(p); return out; };
  let level = (map.get(name) || []).map((l) => path(l, null, tOrder)), complete = true;
  while (level.length && found.length < countUpTo) {
    const ended = [], deeper = [];
    for (const p of level) {
      if (budget <= 0 || deeper.length > budget) { complete = false; break; }
      budget--;
      const head = p.link.importer ? rec(p.link.importer) : undefined;
      const imports = head === undefined ? [] : map.get(P.name[head]) || [];
      if (!imports.length) { ended.push(p); continue; }
      const hOrder = P.m.order[head];
      if (p.rest === null || hOrder < tOrder)
        for (const l of imports) if (order(l.importer) < hOrder && l.importer !== name) deeper.push(path(l, p, order(l.module)));
    }
    const ranked = ended.map((p) => [p, walk(p).map((x) => x.ord)]).sort(([a, x], [b, y]) => {
      if (a.links !== b.links) return a.links - b.links;
      for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k] - y[k];
      return x.length - y.length;
    });
    for (const [p] of ranked) {
      const c = walk(p).map((x) => x.link), k = key(c), s = sites(c);
      if (!seen.has(k) && !(s.length === c.length && seenSites.some((o) => within(s, o)))) {
        seen.add(k); seenSites.push(s); found.push(c);
      }
    }
    if (!complete) break;
    level = deeper;
  }
  const kept = found.slice(0, limit == null ? found.length : Math.max(0, limit - shown.length));
  return {shown: shown.concat(kept), more: found.length - kept.length, complete: complete && found.length < countUpTo};
}
function renderChains(name) {
  const list = $("chain-list"), P = N && cur();
  if (name != null) $("chain-input").value = name;
  if (!P || name == null) return fill(list, muted("Pick a module: click it in the chart or the table, or type its name."));
  if (!P.byName.has(name)) return fill(list, muted(`${name} was not imported by this process.`));
  const res = chains(st.proc, name), start = (x) => h("li", {class: "link start"}, P.byName.has(x) ? modLink(x) : x);
  fill(list, muted(plural(res.shown.length, "chain") + (res.more ? ` shown, ${res.more}${res.complete ? "" : "+"} more` : "")),
    res.shown.map((c, k) => [
      k < 2 && t("h4", null, k ? "also imported through (each would still load it if the chains above were cut)" : "loaded first through"),
      h("ol", {class: "chain", data: {chain: k}}, c[0].importer && start(c[0].importer),
        c.map((l) => h("li", {class: "link", data: {module: l.module}}, modLink(l.module),
          l.named !== l.module && t("span", "muted", ` (${l.named}, via package)`),
          l.site && t("span", "site", shortSite(l.site, 3), l.site))))]),
    !P.R.edges.length && muted("Only the first-load chain: other routes are recorded by the profiling run " +
      "(this profile was made with --no-calls)."));
}
function pickChain() {
  const P = cur(), v = $("chain-input").value.trim(), low = v.toLowerCase(), has = (f) => P.name.find((x) => f(x.toLowerCase()));
  const hit = P.byName.has(v) ? v : low ? has((x) => x.startsWith(low)) || has((x) => x.includes(low)) : undefined;
  if (hit !== undefined) selectName(hit); else renderChains(v || null);
}
function suggest() {
  const low = $("chain-input").value.trim().toLowerCase(), out = [];
  for (const x of low ? cur().name : []) if (x.toLowerCase().includes(low) && out.push(x) >= 30) break;
  fill($("chain-names"), out.map((x) => h("option", {value: x})));
}

// -- sortable tables ------------------------------------------------------------------------
function sortRows(rows, get, dir, text) {
  const val = new Map(rows.map((r) => [r, get(r)]));
  return rows.sort((a, b) => {
    const x = val.get(a), y = val.get(b);
    if (x == null || y == null) return (x == null) - (y == null);
    return (text ? String(x).localeCompare(String(y)) : x - y) * dir;
  });
}
const header = (cols, key, dir, onSort) => h("thead", {}, h("tr", {}, cols.map((c) => h("th", {
  data: {sort: c.k}, class: c.text || c.left ? "" : "num",
  "aria-sort": c.k === key ? (dir > 0 ? "ascending" : "descending") : null, title: c.tip || "Sort", onclick: () => onSort(c)}, c.t))));
const sorter = (key, dir, then) => (c) => { st[dir] = st[key] === c.k ? -st[dir] : c.text ? 1 : -1; st[key] = c.k; then(); };
const moreButton = (id, shown, total, onMore) => shown < total &&
  h("button", {id, class: "more", text: `Show ${Math.min(PAGE, total - shown)} more (${shown} of ${total} shown)`, onclick: onMore});
function renderTable() {
  const box = $("module-table");
  if (!N) return fill(box);
  const P = cur(), m = P.m, f = st.filter.toLowerCase(), cols = [
    {k: "name", t: "module", text: 1, get: (i) => P.name[i]},
    {k: "self", t: "self ms", get: (i) => m.self[i], fmt: ms}, {k: "cum", t: "cum ms", get: (i) => m.cum[i], fmt: ms},
    P.crss && {k: "crss", t: "memory", tip: "RSS growth of the module and its imports", get: (i) => P.crss[i], fmt: mem},
    {k: "kind", t: "kind", text: 1, get: (i) => P.kind[i]}, {k: "dist", t: "distribution", text: 1, get: (i) => str(m.dist[i])},
    {k: "site", t: "import site", text: 1, get: (i) => P.site[i]},
    A && {k: "audit", t: "audit", left: 1, tip: "The audit's import sites of this module; sorts by best saving",
      get: (i) => bestSaving(P, P.name[i])},
  ].filter(Boolean);
  let rows = [...Array(P.n).keys()].filter((i) => (!st.kind || P.kind[i] === st.kind) &&
    (!f || [P.name[i], str(m.dist[i]), P.kind[i], P.site[i]].some((x) => x && x.toLowerCase().includes(f))));
  const col = cols.find((c) => c.k === st.sort) || cols[2];
  rows = sortRows(rows, col.get, st.dir, col.text);
  fill(box, header(cols, col.k, st.dir, sorter("sort", "dir", renderTable)), h("tbody", {}, rows.slice(0, st.rows).map((i) => {
    const status = str(m.status[i]), name = P.name[i];
    return h("tr", {data: {module: name, i}, class: i === st.sel ? "sel" : null, onclick: () => select(i, true)}, cols.map((c) =>
      c.k === "name" ? h("td", {class: "name"}, h("span", {class: "dot", data: {kind: P.kind[i]}}), dotted(name),
        status !== "ok" && t("span", "badge warn", status), P.added.has(name) && t("span", "badge added-mark", "added")) :
        c.k === "site" ? t("td", "site", shortSite(P.site[i]), P.site[i]) :
          c.k === "audit" ? h("td", {class: "audit"}, [...new Map(sitesOf(P, name).map((s) => [s.klass, s])).values()].slice(0, FEW).map(klassBadge),
            c.get(i) && t("span", "saving", "~" + ms(c.get(i)))) :
            t("td", c.text ? "" : "num", c.fmt ? c.fmt(c.get(i)) : c.get(i))));
  })));
  const count = $("module-count");
  count.textContent = `${rows.length} of ${P.n} modules`;
  count.dataset.count = rows.length;
  fill($("module-more"), moreButton("module-more-button", Math.min(st.rows, rows.length), rows.length,
    () => { st.rows += PAGE; renderTable(); }));
  const sel = $("module-kind");
  if (sel.dataset.proc !== String(st.proc)) {
    fill(sel, h("option", {value: "", text: "all kinds"}), P.kinds.slice(0, FEW).map((k) => h("option", {value: k, text: k})),
      P.kinds.length > FEW && h("option", {disabled: true, text: `… ${P.kinds.length - FEW} more: type one in the filter`}));
    sel.dataset.proc = st.proc;
  }
  sel.value = st.kind;
}

// -- hot calls, audit, diff, notes ----------------------------------------------------------
function renderHot() {
  const calls = N ? cur().R.hot : [];
  const fn = (l) => h("span", {class: "fn", title: l[1] ? `${l[1]}:${l[2]}` : null}, dotted(l[0]));
  const heads = [["share"], ["~ms", "what removing the call saves"],
    ["own ms", "its own time in the profiling run, imports and profiler overhead left out"],
    ["calls"], ["function"], ["called at module level by"], ["where its time goes"]];
  fill($("hot-body"), !calls.length ? muted("No hot calls recorded: no function called while importing stood " +
    "out (or the profile was made with --no-calls).") : [
    muted("Functions that module-level code called while importing. ~ms: what removing the call saves " +
      "(timed without a profiler); share: of the import time."),
    h("table", {class: "grid", id: "hot-table"},
      h("thead", {}, h("tr", {}, heads.map(([x, tip], k) => t("th", k < 4 ? "num" : "", x, tip)))),
      h("tbody", {}, calls.slice(0, st.hrows).map((c) => h("tr", {class: "hot-call", data: {function: c.function}},
        t("td", "num", c.share == null ? "–" : (c.share * 100).toFixed(1) + "%"),
        t("td", "num", ms(c.estimate)), t("td", "num", ms(c.own)), t("td", "num", String(c.calls)),
        h("td", {}, h("b", {class: "fn"}, dotted(c.function)),
          c.file && t("div", "muted", shortSite(`${c.file}:${c.line}`), `${c.file}:${c.line}`)),
        h("td", {}, c.callers.slice(0, 5).map((l, k) => [k ? ", " : "", fn(l)]),
          c.callers_total > 5 && ` and ${c.callers_total - 5} more`),
        h("td", {}, c.chain.length ? ["burns it in ", h("b", {class: "fn"}, dotted(c.chain[c.chain.length - 1][0])),
          t("div", "muted", [c.function, ...c.chain.map((l) => l[0])].join(" → "))]
          : c.callees.slice(0, 2).map((l, k) => [k ? ", " : "→ ", fn(l)])))))),
    moreButton("hot-more", Math.min(st.hrows, calls.length), calls.length, () => { st.hrows += PAGE; renderHot(); })]);
}
function renderAudit() {
  const box = $("audit"), counts = new Map();
  box.hidden = !A;
  if (!A) return;
  for (const s of A.sites) counts.set(s.klass, (counts.get(s.klass) || 0) + 1);  // a class may be "constructor"
  const rank = (k) => (D.classes.includes(k) ? D.classes.indexOf(k) : 99), us = (s) => (s.saving && s.saving.us) || 0;
  const sites = A.sites.filter((s) => st.klass === null || s.klass === st.klass)
    .sort((a, b) => rank(a.klass) - rank(b.klass) || us(b) - us(a));
  const P = N && cur(), fixes = A.entries.filter((e) => e.fix_us)
    .map((e) => `; fixing ${plural(e.fix_sites, "site")} saves ~${msu(e.fix_us)} on ${e.name}`);
  // hotstart's classes, then at most FEW others (a report may hold any text as a class)
  const classes = [...D.classes.filter((k) => counts.has(k)), ...[...counts.keys()].filter((k) => rank(k) > 90).slice(0, FEW)]
    .map((k) => [k, `${k} (${counts.get(k)})`]);
  fill(box, t("h2", null, "Audit: import sites by class"),
    muted(`${plural(A.sites.length, "import site")} in ${plural(A.files, "file")} of ${A.root}${fixes.join("")}`),
    toggles("audit-classes", "klass", [[null, `all (${A.sites.length})`], ...classes], st.klass,
      (k) => { st.klass = k; st.arows = PAGE; renderAudit(); }),
    counts.size > classes.length && muted(`+${counts.size - classes.length} classes`),
    h("table", {class: "grid", id: "audit-table"},
      h("thead", {}, h("tr", {}, ["class", "saving", "imports", "statement", "where", "reason / fix"].map((x) => t("th", null, x)))),
      h("tbody", {}, sites.slice(0, st.arows).map((s) => {
        const v = s.saving;
        return h("tr", {class: "site", data: {klass: s.klass, module: s.imported}}, h("td", {}, klassBadge(s)),
          h("td", {class: "num", title: v ? `${v.entry}: ${plural(v.dropped, "module")} would not load ${v.modules.join(", ")}` : null},
            v ? [msu(v.us), v.dropped > 0 && t("div", "muted", `${size(v.rss)} · ${plural(v.dropped, "module")}`)] : "–"),
          h("td", {}, P && P.byName.has(s.imported) ? modLink(s.imported) : s.imported),
          h("td", {}, t("code", null, s.statement)), t("td", "site", shortSite(`${s.file}:${s.line}`), s.file),
          h("td", {}, s.reason, s.fix && t("div", "fix", "fix: " + s.fix)));
      }))),
    moreButton("audit-more", Math.min(st.arows, sites.length), sites.length, () => { st.arows += PAGE; renderAudit(); }),
    A.hotspots.length && [t("h3", null, "Hot spots: expensive calls made at import"),
      h("ul", {class: "hotspots"}, A.hotspots.slice(0, st.srows).map((x) => h("li", {}, t("code", null, x.call),
        ` in ${x.module} (${shortSite(`${x.file}:${x.line}`, 3)})${x.measured_us ? `: ~${msu(x.measured_us)}` : ""}`,
        t("div", "muted", `${x.why} ${x.advice}`)))),
      moreButton("hotspots-more", Math.min(st.srows, A.hotspots.length), A.hotspots.length, () => { st.srows += PAGE; renderAudit(); })]);
}
function renderDiff() {
  const box = $("diff"), B = D.diff && D.diff.before, X = D.diff && D.diff.processes[st.proc], p = D.profile;
  box.hidden = !D.diff;
  if (!D.diff) return;
  fill(box, t("h2", null, "Diff: before → after"), h("p", {class: "muted"},
    "before: ", t("code", null, B.command), B.created && ` (${B.created})`, h("br", {}),
    "after: ", t("code", null, p.command), p.created && ` (${p.created})`));
  // What makes the before profile a weaker reference (the summary says it of the after).
  const weak = [B.failed && (B.timed_out ? "its target timed out" : `its target exited with code ${B.exit_code}`),
    B.partial.length && `${plural(B.partial.length, "process")} ended before reporting (figures partial)`,
    B.processes !== N && `it has ${plural(B.processes, "process")}, the after ${N}: processes are compared by their index`];
  if (weak.some(Boolean)) box.append(h("p", {class: "warn", id: "diff-before"}, "Before: " + weak.filter(Boolean).join("; ") + "."));
  if (!X) return box.append(muted(`The before profile has no process ${st.proc}.`));
  const fmt = (v, u) => (v == null ? "–" : u === "us" ? msu(v) : u === "bytes" ? size(v) : String(v));
  const change = (a, b, u) => (a == null || b == null ? "–" :
    (u === "us" ? dms(b - a) + " ms" : u === "bytes" ? mem(b - a) : (b > a ? "+" : "") + (b - a)) +
    (a ? ` (${b > a ? "+" : ""}${(((b - a) / a) * 100).toFixed(0)}%)` : ""));
  const R = X.rows, names = ["added", "removed", "changed"], n = R.name.length, count = [0, 0, 0], sum = [0, 0, 0];
  const d = (a, b) => (k) => (R[b][k] == null && R[a][k] == null ? null : (R[b][k] || 0) - (R[a][k] || 0));
  const name = (k) => S[R.name[k]], what = (k) => names[R.change[k]];
  const cols = [{k: "name", t: "module", text: 1, get: name}, {k: "change", t: "change", text: 1, get: what},
    {k: "dself", t: "Δ self ms", get: d("self_a", "self_b"), fmt: dms}, {k: "dcum", t: "Δ cum ms", get: d("cum_a", "cum_b"), fmt: dms},
    {k: "dmem", t: "Δ self mem", get: d("rss_a", "rss_b"), fmt: mem}, {k: "dcmem", t: "Δ cum mem", get: d("crss_a", "crss_b"), fmt: mem},
    {k: "before", t: "self before", get: (k) => R.self_a[k], fmt: ms}, {k: "after", t: "self after", get: (k) => R.self_b[k], fmt: ms}];
  for (let k = 0; k < n; k++) { count[R.change[k]]++; sum[R.change[k]] += cols[2].get(k) || 0; }
  // A change (Δ), largest first, sorts by its size: the biggest gains and losses on top.
  const col = cols.find((c) => c.k === st.dsort), big = st.ddir < 0 && col.k[0] === "d";
  const rows = sortRows([...Array(n).keys()].filter((k) => !st.dchange || what(k) === st.dchange),
    big ? (k) => (col.get(k) == null ? null : Math.abs(col.get(k))) : col.get, st.ddir, col.text);
  box.append(h("table", {class: "grid totals", id: "diff-totals"},
    h("thead", {}, h("tr", {}, ["", "before", "after", "change"].map((x, k) => t("th", k ? "num" : "", x)))),
    h("tbody", {}, X.totals.filter((x) => x[1] != null || x[2] != null).map(([l, a, b, u]) =>
      h("tr", {}, t("th", null, l), t("td", "num", fmt(a, u)), t("td", "num", fmt(b, u)), t("td", "num", change(a, b, u)))))),
  toggles("diff-changes", "change", [["", `all (${n})`],
    ...names.map((x, c) => [x, `${x} (${count[c]}${c < 2 ? `, ${dms(sum[c])} ms self` : ""})`])],
  st.dchange, (k) => { st.dchange = k; st.drows = DPAGE; renderDiff(); }),
  h("table", {class: "grid", id: "diff-table"}, header(cols, st.dsort, st.ddir, sorter("dsort", "ddir", renderDiff)),
    h("tbody", {}, rows.slice(0, st.drows).map((k) => h("tr", {
      data: {module: name(k), change: what(k)}, onclick: () => selectName(name(k))},
      cols.map((c) => c.k === "name" ? h("td", {class: "name"}, h("span", {class: "dot", data: {kind: S[R.kind[k]]}}), dotted(name(k)))
        : c.k === "change" ? h("td", {}, h("span", {class: "badge", data: {change: what(k)}, text: what(k)}))
          : t("td", "num", c.fmt(c.get(k)))))))),
  moreButton("diff-more", Math.min(st.drows, rows.length), rows.length, () => { st.drows += PAGE; renderDiff(); }) || [],
  muted("Δ sorts by the size of the change. An added or removed module adds or takes away its self figures; its " +
    "cumulative ones also count the modules it imported, listed themselves."));
}
function renderNotes() {
  const p = D.profile, c = p.cross_check, r = (x) => (x == null ? "n/a" : x.toFixed(3));
  const items = [...p.notes, ...(A ? [...A.notes, ...A.errors].map((x) => "audit: " + x) : [])];
  fill($("notes"), t("h2", null, "Notes"), items.length ? h("ul", {}, items.slice(0, st.nrows).map((x) => t("li", null, x))) : muted("No notes."),
    moreButton("notes-more", Math.min(st.nrows, items.length), items.length, () => { st.nrows += PAGE; renderNotes(); }),
    p.stderr_tail.length && [t("h3", null, "stderr (last lines)"), t("pre", null, p.stderr_tail.join("\n"))],
    c && muted(`Cross-checked against -X importtime (${c.runs} runs, ${c.modules} modules): ` +
      `Pearson r ${r(c.pearson)}, Spearman ${r(c.spearman)}.`));
}

// -- the page -------------------------------------------------------------------------------
function build() {
  const input = (id, label, more) => h("input", {id, type: "search", placeholder: label, "aria-label": label, ...more});
  const onChart = (e) => { const x = e.target.closest(".node"); if (x) select(+x.dataset.i, true); };
  const refilter = (key) => (e) => { st[key] = e.target.value.trim(); st.rows = PAGE; renderTable(); };
  const enter = (f) => (e) => e.key === "Enter" && f();
  document.body.append(h("header", {id: "summary"}), card("processes"), card("diff"),
    card("chart-card", null, h("div", {class: "toolbar"}, t("h2", null, "Import tree"), h("div", {id: "chart-metric"}),
      input("chart-search", "Search modules", {oninput: searchChart, onkeydown: enter(nextHit)}),
      h("span", {id: "chart-matches", class: "muted"}), h("button", {id: "chart-reset", text: "Reset zoom", onclick: () => zoomTo(-1)})),
    h("div", {id: "breadcrumb"}), h("div", {id: "chart-wrap"}, h("div", {id: "chart", onclick: onChart, onmousemove: tooltip,
      onmouseleave: () => { $("tooltip").hidden = true; }})), h("div", {id: "legend"}),
    t("p", "muted hint", "Width: the chosen figure of a module and everything it imported, in import order. Click to " +
      "zoom in, click a bar above to zoom out; Enter in the search box jumps to the next match.")),
    h("div", {class: "columns"}, card("modules", null, h("div", {class: "toolbar"}, t("h2", null, "Modules"),
      input("module-filter", "Filter: name, distribution, site", {oninput: refilter("filter")}),
      h("select", {id: "module-kind", "aria-label": "Kind", onchange: refilter("kind")}), h("span", {id: "module-count", class: "muted"})),
    h("div", {class: "scroll"}, h("table", {class: "grid", id: "module-table"})), h("div", {id: "module-more"})),
    h("aside", {}, card("details", "Module", h("div", {id: "details-body"})),
      card("chains", "Why is it loaded?", input("chain-input", "Module name", {list: "chain-names", oninput: suggest,
        onchange: pickChain, onkeydown: enter(pickChain)}), h("datalist", {id: "chain-names"}), h("div", {id: "chain-list"})))),
    card("hot-calls", "Hot calls", h("div", {id: "hot-body"})), card("audit"), card("notes"), h("div", {id: "tooltip", hidden: true}));
  renderSummary(); renderProcesses(); renderDiff();
  if (N) renderChartTools();
  drawChart(); renderTable(); renderDetails(); renderChains(null); renderHot(); renderAudit(); renderNotes();
  let pending = 0;
  addEventListener("resize", () => { cancelAnimationFrame(pending); pending = requestAnimationFrame(drawChart); });
  window.hotstart = {chains, select: selectName};  // for tests, and the console
  document.body.dataset.ready = "1";
}
build();
})();
