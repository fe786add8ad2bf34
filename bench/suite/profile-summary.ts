import { readFileSync } from 'node:fs';

/**
 * Summary of a V8 CPU profile (`.cpuprofile`, as the preload writes it): self time per
 * function (samples whose top frame it is, weighted by the time between samples), and per
 * source (our file, or the npm package), each as a share of the busy time (idle excluded).
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** One row of the summary. */
export interface FrameShare {
  readonly name: string;
  readonly selfMs: number;
  /** Of the busy time. */
  readonly share: number;
}

/** What a profile comes to. */
export interface ProfileSummary {
  readonly file: string;
  readonly wallMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly topFrames: FrameShare[];
  readonly bySource: FrameShare[];
}

/** A script URL as something short: `pkg @nats-io/nats-core`, or a path under dist. */
function sourceOf(url: string): string {
  if (url === '') return '(native / vm)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) return url;
  const dist = url.lastIndexOf('/dist/');
  return dist >= 0 ? url.slice(dist + '/dist/'.length) : url.replace(/^file:\/\//, '');
}

/** Reads a profile and ranks its frames by self time; `top` rows of each table. */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample: the gap after sample i belongs to sample i.
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + Math.max(0, dt));
  }
  const frames = new Map<string, number>();
  const sources = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    totalUs += us;
    if (f.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const src = sourceOf(f.url);
    const name = f.url ? `${f.functionName || '(anonymous)'} ${src}:${f.lineNumber + 1}` : f.functionName || '(anonymous)';
    frames.set(name, (frames.get(name) ?? 0) + us);
    const group = f.url ? src : f.functionName.startsWith('(') ? f.functionName : '(native / vm)';
    sources.set(group, (sources.get(group) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const rank = (m: Map<string, number>): FrameShare[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return { file, wallMs: (p.endTime - p.startTime) / 1000, busyMs: busyUs / 1000, idleMs: idleUs / 1000, topFrames: rank(frames), bySource: rank(sources) };
}
