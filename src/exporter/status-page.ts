// GET / on the metrics port: a self-contained status page (no CDN, no framework). It polls
// /status.json and draws the table and a chart of request rate and utilization on a canvas.
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gpe-server status</title>
<style>
  :root { --fg: #1d2330; --muted: #6b7280; --line: #e5e7eb; --rps: #2563eb; --util: #d97706; --bad: #b91c1c; }
  body { font: 14px/1.4 system-ui, sans-serif; color: var(--fg); margin: 24px; }
  h1 { font-size: 18px; margin: 0 0 4px; }
  #summary { color: var(--muted); margin-bottom: 16px; }
  #summary b { color: var(--fg); }
  table { border-collapse: collapse; width: 100%; margin-bottom: 20px; }
  th, td { text-align: right; padding: 4px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th:nth-child(-n+4), td:nth-child(-n+4) { text-align: left; }
  th { font-weight: 600; color: var(--muted); }
  tr.busy td:nth-child(5) { color: var(--util); font-weight: 600; }
  tr.stale td:nth-child(4) { color: var(--bad); }
  .legend span { margin-right: 16px; }
  .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
  canvas { width: 100%; height: 220px; border: 1px solid var(--line); }
  #error { color: var(--bad); }
</style>
</head>
<body>
<h1>gpe-server <span id="title"></span></h1>
<div id="summary">loading…</div>
<div id="deploy"></div>
<div id="error"></div>
<table>
  <thead><tr><th>slot</th><th>pid</th><th>type</th><th>state</th><th>in flight</th><th>connections</th><th>requests</th><th>req/s</th><th>RSS</th><th>CPU %</th><th>uptime</th><th>heartbeat</th><th>restarts</th></tr></thead>
  <tbody id="workers"></tbody>
</table>
<div class="legend"><span><i style="background:var(--rps)"></i>requests / s</span><span><i style="background:var(--util)"></i>utilization %</span></div>
<canvas id="chart" data-points="0"></canvas>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const mib = (b) => (b == null ? "–" : (b / 1048576).toFixed(1) + " MiB");
const dur = (s) => { s = Math.floor(s); const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60); return h ? h + "h" + String(m).padStart(2, "0") + "m" : m ? m + "m" + String(s % 60).padStart(2, "0") + "s" : s + "s"; };
const restarts = (r) => Object.entries(r).map(([k, v]) => k + " " + v).join(", ") || "0";
function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
function render(s) {
  $("title").textContent = "master " + s.pid + " · " + s.workerClass;
  const u = s.summary;
  const d = s.deploy, p = d && d.inProgress, side = (f) => f ? f.requests + " requests, 5xx " + (f.errorShare * 100).toFixed(1) + " %, p" + Math.round(p.quantile * 100) + " " + (f.latency == null ? "n/a" : Math.round(f.latency * 1000) + " ms") : "no figures yet";
  $("deploy").textContent = p ? (p.phase === "canary" ? "canary of generation " + p.generation + ": " + side(p.canary) + "; old generation: " + side(p.baseline) + "; " + Math.ceil(p.secondsLeft) + " s left at most" : "deploy: generation " + p.generation + " " + p.phase) : d && d.last ? "last deploy: generation " + d.last.generation + " " + d.last.outcome.replace("_", " ") + ": " + d.last.why : "";
  $("summary").innerHTML = "";
  for (const [label, value] of [["workers", u.workers + " (target " + u.target + (u.min == null ? "" : ", adaptive " + u.min + ".." + u.max) + ")"], ["busy", u.busy], ["utilization", (u.utilization * 100).toFixed(0) + "%"], ["req/s", u.requestsPerSecond.toFixed(1)], ["queued", u.queued + " master, " + u.listenQueue + " kernel"], ["restarts", restarts(u.restarts)]]) {
    const b = document.createElement("b"); b.textContent = value;
    $("summary").append(label + " ", b, "   ");
  }
  const body = $("workers");
  body.replaceChildren();
  for (const w of s.workers) {
    const tr = document.createElement("tr");
    tr.dataset.slot = w.slot;
    if (w.inFlight > 0) tr.classList.add("busy");
    if (w.heartbeatAgeSeconds > 5) tr.classList.add("stale");
    for (const v of [w.workerId, w.pid, s.workerClass, w.state, w.inFlight + "/" + w.capacity, w.connections ?? 0, w.requests, w.requestsPerSecond.toFixed(1), mib(w.memoryBytes), w.cpuPercent == null ? "–" : w.cpuPercent.toFixed(0), dur(w.uptimeSeconds), w.heartbeatAgeSeconds.toFixed(1) + "s", restarts(w.restarts)]) cell(tr, String(v));
    body.appendChild(tr);
  }
  draw(s.history);
}
function draw(points) {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  canvas.dataset.points = String(points.length);
  if (points.length < 2) return;
  const maxRps = Math.max(1, ...points.map((p) => p.requestsPerSecond));
  const x = (i) => 40 + (i / (points.length - 1)) * (width - 50);
  const line = (color, y) => { g.strokeStyle = color; g.lineWidth = 2; g.beginPath(); points.forEach((p, i) => (i ? g.lineTo(x(i), y(p)) : g.moveTo(x(i), y(p)))); g.stroke(); };
  g.fillStyle = "#6b7280"; g.font = "11px system-ui";
  g.fillText(maxRps.toFixed(0) + "/s", 2, 14); g.fillText("0", 2, height - 6);
  const span = (points[points.length - 1].time - points[0].time) / 1000;
  g.fillText("last " + (span >= 120 ? Math.round(span / 60) + " min" : Math.round(span) + " s"), width - 70, 14);
  line("#2563eb", (p) => height - 10 - (p.requestsPerSecond / maxRps) * (height - 30));
  line("#d97706", (p) => height - 10 - p.utilization * (height - 30));
}
async function refresh() {
  try {
    const res = await fetch("status.json", { cache: "no-store" });
    if (!res.ok) throw new Error("status.json answered " + res.status);
    render(await res.json());
    $("error").textContent = "";
  } catch (err) {
    $("error").textContent = "cannot load status: " + err.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
