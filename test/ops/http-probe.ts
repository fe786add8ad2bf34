/** Plain HTTP GETs and Prometheus text reading for the ops e2e tests (curl-like: status and body). */

/** Each GET's bound (generous: the machine is shared). */
export const GET_TIMEOUT_MS = 20_000;

export interface Got {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** GETs `url`; rejects only when nothing answers. */
export async function get(url: string): Promise<Got> {
  const res = await fetch(url, { signal: AbortSignal.timeout(GET_TIMEOUT_MS) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** GETs `url` and parses JSON. */
export async function getJson<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const r = await get(url);
  return { status: r.status, body: JSON.parse(r.text) as T };
}

/** The value of the sample `name{labels}` (labels in the order prom-client writes them), or undefined. */
export function metric(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** The `http` field of an app's `http listening` log line. */
export function httpUrlOf(entry: Record<string, unknown>): string {
  if (typeof entry.http !== 'string') throw new Error(`no http URL in ${JSON.stringify(entry)}`);
  return entry.http;
}
