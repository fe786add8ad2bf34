/** The dashboard's stylesheet (see dashboard-page.ts for why a string module). */
export const DASHBOARD_CSS = `
:root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #6b7383; --ok: #1f9d55; --bad: #d64545; --warn: #c98a00; --line: #e3e6eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; gap: 16px; align-items: center; padding: 12px 20px; background: var(--ink); color: #fff; }
header h1 { font-size: 18px; margin: 0; }
main { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 16px 20px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; }
.pill { padding: 2px 8px; border-radius: 10px; font-size: 12px; background: var(--ok); }
.pill.down { background: var(--bad); }
.mode-Work { color: var(--ok); } .mode-Sync, .mode-Ready { color: var(--warn); } .mode-Starting { color: var(--bad); }
.big { font-size: 32px; font-weight: 600; }
.muted { color: var(--muted); }
#wps-chart { width: 100%; height: 60px; background: #fafbfc; }
#wps-chart rect { fill: #4a7bd0; }
#timeline { display: flex; align-items: flex-end; gap: 3px; height: 80px; margin: 8px 0; border-bottom: 1px solid var(--line); overflow-x: auto; }
#timeline .bar { width: 18px; min-height: 3px; background: var(--ok); border-radius: 2px 2px 0 0; }
#timeline .bar.aborted { background: var(--bad); }
#rounds { max-height: 160px; overflow-y: auto; padding-left: 24px; margin: 0; }
.aborted { color: var(--bad); }
form { display: flex; gap: 8px; margin-bottom: 8px; }
input { flex: 1; padding: 4px 8px; }
.keys { display: grid; grid-template-columns: 260px 1fr; gap: 16px; }
#keys { list-style: none; margin: 0; padding: 0; max-height: 280px; overflow-y: auto; border: 1px solid var(--line); }
#keys li { padding: 3px 8px; cursor: pointer; border-bottom: 1px solid var(--line); }
#keys li:hover, #keys li.picked { background: #eef3fb; }
#keys li small { color: var(--muted); margin-left: 6px; }
pre { background: #fafbfc; border: 1px solid var(--line); padding: 8px; overflow: auto; max-height: 240px; margin: 4px 0; }
`;
