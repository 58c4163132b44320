import Hummingbird

/// The status page served at `/`: one self-contained HTML document (inline CSS and script,
/// no external assets) that reads `/status.json` every 2 seconds and redraws the mesh
/// members, the running fine-tunes with their loss curves (inline SVG) and the recent
/// receipts and credits.
///
/// Peer-provided text is hostile. The script only ever sets it with `textContent` and
/// attribute setters, never as markup, and the Content-Security-Policy forbids anything
/// but this page's own inline code and requests to this origin.
enum StatusPage {
    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'",
        .init("X-Content-Type-Options")!: "nosniff",
        .init("Referrer-Policy")!: "no-referrer",
    ]

    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Tern node</title>
    <style>
      :root { --bg: #f6f7f9; --card: #fff; --ink: #1d2430; --muted: #6b7380; --line: #e3e6ea; --accent: #2f6fdb; --ok: #1f9d55; --warn: #d98b00; --bad: #c9302c; }
      * { box-sizing: border-box; }
      body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--ink); }
      header { display: flex; flex-wrap: wrap; gap: 6px 24px; align-items: baseline; padding: 14px 24px; background: #17202e; color: #e8edf5; }
      header h1 { margin: 0; font-size: 18px; font-weight: 600; }
      header .meta { color: #aab4c3; font-size: 13px; }
      main { padding: 16px 24px; display: grid; gap: 16px; }
      section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; overflow-x: auto; }
      h2 { margin: 0 0 8px; font-size: 15px; }
      table { width: 100%; border-collapse: collapse; }
      th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
      th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
      td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
      td.muted, td.mono { white-space: nowrap; }
      code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
      .pill { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; color: #fff; background: var(--muted); }
      .pill.alive, .pill.running, .pill.finished, .pill.accepted { background: var(--ok); }
      .pill.suspect, .pill.pending { background: var(--warn); }
      .pill.dead, .pill.left, .pill.failed, .pill.cancelled, .pill.revoked { background: var(--bad); }
      .bar { position: relative; height: 8px; min-width: 80px; background: var(--line); border-radius: 4px; overflow: hidden; }
      .bar > span { position: absolute; inset: 0 auto 0 0; background: var(--accent); }
      .muted { color: var(--muted); }
      .empty { color: var(--muted); font-style: italic; }
      .finetunes { display: grid; gap: 12px; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); }
      .finetune { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
      .finetune .head { display: flex; gap: 8px; align-items: center; margin-bottom: 6px; }
      .finetune svg { width: 100%; height: 120px; background: #fafbfc; border: 1px solid var(--line); border-radius: 4px; }
      .grid2 { display: grid; gap: 16px; grid-template-columns: 2fr 1fr; }
      @media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
      #error { color: var(--bad); }
    </style>
    </head>
    <body>
    <header>
      <h1>Tern node <span id="fingerprint" class="mono">…</span></h1>
      <span class="meta" id="summary">loading…</span>
      <span class="meta" id="error"></span>
    </header>
    <main>
      <section>
        <h2>Mesh members</h2>
        <table id="members">
          <thead><tr><th>Node</th><th>State</th><th>Class</th><th>Cores</th><th>RAM</th><th>GOPS</th><th>Load</th><th>Models held</th><th>Address</th></tr></thead>
          <tbody></tbody>
        </table>
      </section>
      <section>
        <h2>Fine-tunes</h2>
        <div id="finetunes" class="finetunes"></div>
      </section>
      <div class="grid2">
        <section>
          <h2>Recent receipts</h2>
          <table id="receipts">
            <thead><tr><th>Job</th><th>Kind</th><th>Worker</th><th>Requester</th><th>Tokens</th><th>Time</th><th>Verdict</th><th>When</th></tr></thead>
            <tbody></tbody>
          </table>
        </section>
        <section>
          <h2>Credits</h2>
          <table id="credits">
            <thead><tr><th>Node</th><th>Accepted</th><th>Rejected</th><th>Revoked</th><th>Tokens</th></tr></thead>
            <tbody></tbody>
          </table>
        </section>
      </div>
    </main>
    <script>
    "use strict";
    const SVG = "http://www.w3.org/2000/svg";
    // Every value from the server goes through text nodes or attribute setters: never markup.
    function el(tag, attrs, ...children) {
      const node = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
      for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
      return node;
    }
    function svg(tag, attrs) {
      const node = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
      return node;
    }
    function num(v) { const n = Number(v); return Number.isFinite(n) ? n : null; }
    function short(id) { return String(id || "").slice(0, 12); }
    // Node ids as the member table names them (fingerprints), for nodes this one knows.
    let fingerprints = {};
    function nodeLabel(id) { return fingerprints[id] || short(id); }
    function bytes(n) {
      n = num(n); if (n == null) return "–";
      const units = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
      while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
      return n.toFixed(i ? 1 : 0) + " " + units[i];
    }
    function duration(s) {
      s = num(s) || 0;
      if (s < 60) return s.toFixed(0) + " s";
      if (s < 3600) return (s / 60).toFixed(1) + " min";
      return (s / 3600).toFixed(1) + " h";
    }
    function pill(text) { return el("span", { class: "pill " + String(text).replace(/[^a-z]/g, "") }, text); }
    function bar(fraction, label) {
      const f = Math.max(0, Math.min(1, num(fraction) || 0));
      const inner = el("span"); inner.style.width = (f * 100).toFixed(1) + "%";
      const wrap = el("div", { class: "bar", title: label || "" }, inner);
      return wrap;
    }
    function fill(tbody, rows, columns, emptyText) {
      tbody.replaceChildren();
      if (!rows.length) { tbody.append(el("tr", {}, el("td", { colspan: columns, class: "empty" }, emptyText))); return; }
      for (const r of rows) tbody.append(r);
    }
    function lossCurve(losses, running) {
      const w = 360, h = 120, pad = 36;
      const points = losses.map(num).filter(v => v != null);
      const live = running.map(s => num(s.loss)).filter(v => v != null);
      const liveMean = live.length ? live.reduce((a, b) => a + b, 0) / live.length : null;
      const all = liveMean == null ? points : points.concat([liveMean]);
      const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", class: "loss-curve" });
      const title = svg("title"); title.textContent = "loss per round"; chart.append(title);
      chart.append(svg("line", { x1: pad, y1: h - pad, x2: w - 6, y2: h - pad, stroke: "#c5cad3" }));
      chart.append(svg("line", { x1: pad, y1: 6, x2: pad, y2: h - pad, stroke: "#c5cad3" }));
      if (!all.length) {
        const t = svg("text", { x: w / 2, y: h / 2, "text-anchor": "middle", fill: "#6b7380", "font-size": 12 });
        t.textContent = "no round finished yet"; chart.append(t); return chart;
      }
      const lo = Math.min(...all), hi = Math.max(...all), span = hi - lo || 1;
      const n = Math.max(all.length - 1, 1);
      const x = i => pad + (w - pad - 10) * (all.length === 1 ? 0.5 : i / n);
      const y = v => 8 + (h - pad - 14) * (1 - (v - lo) / span);
      const path = points.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      if (points.length > 1) chart.append(svg("path", { d: path, fill: "none", stroke: "#2f6fdb", "stroke-width": 2 }));
      points.forEach((v, i) => chart.append(svg("circle", { cx: x(i), cy: y(v), r: 3, fill: "#2f6fdb", class: "loss-point" })));
      if (liveMean != null) chart.append(svg("circle", { cx: x(all.length - 1), cy: y(liveMean), r: 3, fill: "#fff", stroke: "#2f6fdb", "stroke-dasharray": "2 1" }));
      for (const [v, anchorY] of [[hi, y(hi)], [lo, y(lo)]]) {
        const t = svg("text", { x: 2, y: anchorY + 4, fill: "#6b7380", "font-size": 10 }); t.textContent = v.toFixed(2); chart.append(t);
      }
      return chart;
    }
    function render(s) {
      document.getElementById("fingerprint").textContent = s.node.fingerprint;
      document.getElementById("summary").textContent =
        `${s.node.version} · gossip ${s.node.gossipAddress} · up ${duration(s.node.uptimeSeconds)} · ` +
        `${s.node.membersAlive} alive, ${s.node.membersSuspect} suspect, ${s.node.membersDead} dead`;
      const names = s.modelNames || {};
      fingerprints = {};
      for (const m of s.members) fingerprints[m.nodeID] = m.fingerprint;
      fill(document.querySelector("#members tbody"), s.members.map(m => {
        const models = (m.models || []).map(id => names[id] || short(id));
        const load = num(m.loadPercent);
        return el("tr", { class: "member", "data-node": m.fingerprint, "data-state": m.state },
          el("td", {}, el("span", { class: "mono" }, m.fingerprint), m.isSelf ? el("span", { class: "muted" }, " (this node)") : ""),
          el("td", {}, pill(m.state)),
          el("td", { class: "device-class" }, m.deviceClass || "–"),
          el("td", { class: "num" }, m.cores ?? "–"),
          el("td", { class: "num" }, bytes(m.ramBytes)),
          el("td", { class: "num" }, num(m.gops) == null ? "–" : num(m.gops).toFixed(1)),
          el("td", {}, load == null ? "–" : el("div", {}, bar(load / 100, load + "%"), el("span", { class: "muted" }, load + "%"))),
          el("td", { class: "models" }, models.length ? models.join(", ") : "–"),
          el("td", { class: "mono" }, m.address));
      }), 9, "no members known");

      const tunes = document.getElementById("finetunes");
      tunes.replaceChildren();
      if (!s.fineTunes.length) tunes.append(el("div", { class: "empty" }, "no fine-tune dispatched from this node"));
      for (const f of s.fineTunes) {
        const steps = f.running.reduce((a, r) => a + (num(r.stepsDone) || 0), 0);
        const total = f.running.reduce((a, r) => a + (num(r.steps) || 0), 0);
        const roundFraction = f.rounds ? (f.roundsDone + (total ? steps / total : 0)) / f.rounds : 0;
        const shardRows = f.running.map(r => el("tr", { class: "shard" },
          el("td", {}, "shard " + r.shard), el("td", { class: "mono" }, nodeLabel(r.worker)),
          el("td", {}, bar(num(r.steps) ? r.stepsDone / r.steps : 0, `${r.stepsDone}/${r.steps}`)),
          el("td", { class: "num" }, `${r.stepsDone}/${r.steps}`),
          el("td", { class: "num" }, num(r.loss) == null ? "–" : num(r.loss).toFixed(3))));
        const card = el("div", { class: "finetune", "data-id": f.id, "data-state": f.state },
          el("div", { class: "head" }, el("strong", { class: "mono" }, short(f.id)), pill(f.state),
            el("span", { class: "rounds" }, `round ${Math.min(f.roundsDone + (f.state === "running" ? 1 : 0), f.rounds)}/${f.rounds}`),
            el("span", { class: "muted" }, `${f.workers} workers` + (f.banned ? `, ${f.banned} banned` : ""))),
          bar(roundFraction, "progress"),
          lossCurve(f.losses || [], f.running || []),
          f.running.length ? el("table", {}, el("tbody", {}, ...shardRows)) : "",
          f.error ? el("div", { class: "muted" }, f.error) : "");
        tunes.append(card);
      }

      fill(document.querySelector("#receipts tbody"), s.receipts.map(r => el("tr", { class: "receipt" },
        el("td", { class: "mono" }, short(r.jobID)), el("td", {}, r.kind),
        el("td", { class: "mono" }, nodeLabel(r.worker)), el("td", { class: "mono" }, nodeLabel(r.requester)),
        el("td", { class: "num" }, r.tokens), el("td", { class: "num" }, ((num(r.wallMillis) || 0) / 1000).toFixed(1) + " s"),
        el("td", {}, r.revokedReason ? pill("revoked") : pill(r.accepted ? "accepted" : "pending")),
        el("td", { class: "muted" }, new Date(r.createdAt).toLocaleTimeString()))), 8, "no receipts yet");

      fill(document.querySelector("#credits tbody"), s.credits.map(c => el("tr", { class: "credit" },
        el("td", { class: "mono" }, nodeLabel(c.nodeID)), el("td", { class: "num" }, c.jobsAccepted),
        el("td", { class: "num" }, c.jobsRejected), el("td", { class: "num" }, c.jobsRevoked),
        el("td", { class: "num" }, c.tokensAccepted))), 5, "no credits yet");
    }
    async function refresh() {
      try {
        const response = await fetch("status.json", { cache: "no-store" });
        if (!response.ok) throw new Error("status " + response.status);
        render(await response.json());
        document.getElementById("error").textContent = "";
      } catch (e) {
        document.getElementById("error").textContent = "cannot reach the node: " + e.message;
      }
    }
    refresh();
    setInterval(refresh, 2000);
    </script>
    </body>
    </html>
    """#
}
