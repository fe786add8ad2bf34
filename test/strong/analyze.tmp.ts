import { readFileSync } from 'node:fs';
import { checkLinearizable, registerModel, revisionsReadIn, type RegisterOp } from '#testing';
const raw = JSON.parse(readFileSync('/tmp/crdt-strong-lin-JnahsS/logs/history.json', 'utf8')) as Array<RegisterOp & { returnMs: number | null }>;
const h: RegisterOp[] = raw.map((o) => ({ ...o, returnMs: o.returnMs === null ? Infinity : o.returnMs }));
h.sort((a, b) => a.callMs - b.callMs);
// Smallest prefix by call time that fails.
let lo = 1, hi = h.length;
const fails = (n: number) => !checkLinearizable(registerModel(revisionsReadIn(h.slice(0, n))), h.slice(0, n)).ok;
if (!fails(hi)) { console.log('whole history ok'); process.exit(0); }
while (lo < hi) { const mid = (lo + hi) >> 1; if (fails(mid)) hi = mid; else lo = mid + 1; }
console.log('smallest failing prefix', lo);
const last = h[lo - 1];
console.log('last op', JSON.stringify(last));
for (const o of h.slice(0, lo)) if (o.returnMs >= last.callMs - 200 || o.callMs >= last.callMs - 200) console.log(JSON.stringify(o));
