/**
 * The dashboard's page. The assets are TypeScript string modules so that the tsc-only
 * build puts them in dist/ with everything else (no copy step, no CDN): this file,
 * dashboard-style.ts and dashboard-script.ts.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>crdt-nats dashboard</title>
<link rel="stylesheet" href="/dashboard.css">
</head>
<body>
<header>
  <h1>crdt-nats</h1>
  <div id="conn" class="pill down">connecting</div>
  <div>coordinator <b id="coordinator">-</b> (<span id="role">-</span>), leader <b id="leader">-</b>, epoch <span id="epoch">-</span></div>
</header>
<main>
  <section class="card wide">
    <h2>Members</h2>
    <table id="members">
      <thead><tr><th>replica</th><th>mode</th><th>lag</th><th>stream seq</th><th>op-log rows</th><th>outbox</th><th>keys</th><th>heard</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="card">
    <h2>Writes per second</h2>
    <div class="big"><span id="wps">-</span><small> /s</small></div>
    <div class="muted"><span id="events-total">0</span> events written</div>
    <svg id="wps-chart" viewBox="0 0 300 60" preserveAspectRatio="none"></svg>
  </section>
  <section class="card">
    <h2>Rounds</h2>
    <div class="muted">committed <b id="rounds-committed">0</b>, aborted <b id="rounds-aborted">0</b>, last write hold <b id="hold-last">-</b>, max <b id="hold-max">-</b>; running <b id="running">none</b></div>
    <div id="timeline"></div>
    <ol id="rounds" reversed></ol>
  </section>
  <section class="card wide">
    <h2>Keys</h2>
    <form id="key-form"><input id="key-prefix" placeholder="key prefix" autocomplete="off"><button type="submit">list</button></form>
    <div class="keys">
      <ul id="keys"></ul>
      <div id="key-detail" class="muted">pick a key</div>
    </div>
  </section>
</main>
<script src="/dashboard.js"></script>
</body>
</html>
`;
