/**
 * The dashboard's script (see dashboard-page.ts for why a string module): plain browser
 * JavaScript, no framework. It listens to `/api/events` (Server-Sent Events, one `state`
 * per second) and draws; the key browser asks `/api/keys` and `/api/key`. Every value from
 * the store goes in through textContent, never as HTML.
 */
export const DASHBOARD_JS = `(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
  const ms = (v) => (v === null || v === undefined ? '-' : v + ' ms');
  const WPS_SAMPLES_MAX = 60;
  const wps = [];

  function render(s) {
    $('coordinator').textContent = s.coordinator;
    $('role').textContent = s.role;
    $('leader').textContent = s.leader || 'none';
    $('epoch').textContent = s.epoch;
    const body = $('members').tBodies[0];
    body.replaceChildren(...s.members.map((m) => {
      const tr = el('tr');
      tr.dataset.replica = m.replica;
      tr.append(el('td', m.replica), el('td', m.mode, 'mode-' + m.mode), el('td', m.lag), el('td', m.streamSeq), el('td', m.opLogRows), el('td', m.outbox), el('td', m.keys), el('td', m.ageMs + ' ms ago'));
      return tr;
    }));
    $('wps').textContent = s.writesPerSecond === null ? '-' : s.writesPerSecond.toFixed(1);
    $('events-total').textContent = s.eventsTotal;
    if (s.writesPerSecond !== null) { wps.push(s.writesPerSecond); if (wps.length > WPS_SAMPLES_MAX) wps.shift(); }
    drawChart();
    $('rounds-committed').textContent = s.freeze.committedRounds;
    $('rounds-aborted').textContent = s.freeze.abortedRounds;
    $('hold-last').textContent = ms(s.freeze.lastWritesHeldMs);
    $('hold-max').textContent = ms(s.freeze.maxWritesHeldMs);
    $('running').textContent = s.running || 'none';
    const top = Math.max(1, ...s.rounds.map((r) => r.writesHeldMs));
    $('timeline').replaceChildren(...s.rounds.map((r) => {
      const b = el('div', undefined, 'bar ' + r.outcome);
      b.style.height = Math.max(4, Math.round((r.writesHeldMs / top) * 76)) + 'px';
      b.title = 'round ' + r.id + ' ' + r.outcome + (r.code ? ' (' + r.code + ')' : '') + ', writes held ' + r.writesHeldMs + ' ms';
      b.dataset.round = r.id;
      return b;
    }));
    $('rounds').replaceChildren(...s.rounds.slice().reverse().map((r) => {
      const li = el('li', 'round ' + r.id + ' ' + r.outcome + (r.code ? ' ' + r.code : '') + ' (' + r.trigger + '), writes held ' + r.writesHeldMs + ' ms, ' + new Date(r.startedAtMs).toLocaleTimeString(), r.outcome === 'aborted' ? 'aborted' : '');
      li.dataset.round = r.id;
      return li;
    }));
  }

  function drawChart() {
    const svg = $('wps-chart');
    const top = Math.max(1, ...wps);
    const w = 300 / WPS_SAMPLES_MAX;
    svg.replaceChildren(...wps.map((v, i) => {
      const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      const h = Math.max(v > 0 ? 1 : 0, (v / top) * 58);
      r.setAttribute('x', String(i * w)); r.setAttribute('width', String(w - 0.5));
      r.setAttribute('y', String(60 - h)); r.setAttribute('height', String(h));
      return r;
    }));
  }

  function connect() {
    const es = new EventSource('/api/events');
    es.addEventListener('state', (e) => { $('conn').textContent = 'live'; $('conn').className = 'pill'; render(JSON.parse(e.data)); });
    es.onerror = () => { $('conn').textContent = 'reconnecting'; $('conn').className = 'pill down'; };
  }

  async function listKeys() {
    const prefix = $('key-prefix').value;
    const r = await fetch('/api/keys?prefix=' + encodeURIComponent(prefix)).then((x) => x.json());
    const ul = $('keys');
    if (!r.ok) { ul.replaceChildren(el('li', (r.error && r.error.message) || 'failed', 'aborted')); return; }
    ul.replaceChildren(...r.keys.map((k) => {
      const li = el('li', k.key);
      li.dataset.key = k.key;
      li.append(el('small', k.type));
      li.onclick = () => { for (const x of ul.children) x.classList.remove('picked'); li.classList.add('picked'); showKey(k.key); };
      return li;
    }));
    if (r.truncated) ul.append(el('li', 'more keys: narrow the prefix', 'muted'));
  }

  async function showKey(key) {
    const r = await fetch('/api/key?key=' + encodeURIComponent(key)).then((x) => x.json());
    const box = $('key-detail');
    box.className = '';
    const v = r.value || {};
    const h = r.history || {};
    const parts = [el('h3', key), el('div', 'type: ' + (v.type || h.type || '-'))];
    parts.push(el('div', 'value:'), el('pre', v.ok ? JSON.stringify(v.value, null, 2) : (v.error && v.error.message) || 'unavailable'));
    if (h.ok) {
      parts.push(el('div', 'history (' + h.events.length + ' events since round ' + h.sinceRound.epoch + '/' + h.sinceRound.round + (h.truncated ? ', truncated' : '') + '):'));
      const ol = el('ol');
      ol.id = 'key-history';
      for (const e of h.events) ol.append(el('li', e.origin + '#' + e.seq + ' ' + JSON.stringify(e.ops)));
      parts.push(ol);
    }
    box.replaceChildren(...parts);
  }

  $('key-form').addEventListener('submit', (e) => { e.preventDefault(); void listKeys(); });
  connect();
  void listKeys();
})();
`;
