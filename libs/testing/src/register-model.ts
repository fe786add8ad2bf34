import type { HistoryOp, Model } from './linearizability';

/**
 * The sequential specification of a strong register (issue 10, item 2) for
 * `checkLinearizable`: a value and its revision. Revisions are the stream's, not the
 * model's to choose, so a write's output names the revision it got and the model checks
 * that revisions only grow; a read must see exactly the last write's value and revision;
 * a compare-and-set succeeds only at its expected revision and fails (`CONFLICT`) only
 * away from it, naming the revision the register is at.
 */
export type RegisterInput =
  | { readonly op: 'read' }
  | { readonly op: 'write'; readonly value: string }
  | { readonly op: 'cas'; readonly expect: number; readonly value: string };

/** What a client saw: a read's value and revision, a stored write's revision, or a refused compare-and-set's current revision. */
export type RegisterOutput =
  | { readonly kind: 'read'; readonly value: string | null; readonly revision: number }
  | { readonly kind: 'stored'; readonly revision: number }
  | { readonly kind: 'conflict'; readonly revision: number };

/** The register's state; `revision` -1 is a write applied at a revision nobody saw (an unknown outcome). */
export interface RegisterState {
  readonly value: string | null;
  readonly revision: number;
}

/** One operation of a register history. */
export type RegisterOp = HistoryOp<RegisterInput, RegisterOutput>;

/**
 * The model. `revisionOf` names the revision of a write whose outcome is unknown when some
 * read saw its value (values are unique per write in the tests), so that read can be
 * explained; unseen, such a write either did not happen or happened at a revision nobody read.
 */
export function registerModel(revisionOf: (value: string) => number | undefined = () => undefined): Model<RegisterState, RegisterInput, RegisterOutput> {
  return {
    init: () => ({ value: null, revision: 0 }),
    key: (s) => `${s.revision}:${JSON.stringify(s.value)}`,
    step(s, input, output) {
      switch (input.op) {
        case 'read':
          if (output?.kind !== 'read') return [];
          return output.revision === s.revision && output.value === s.value ? [s] : [];
        case 'write':
        case 'cas': {
          if (input.op === 'cas' && output?.kind === 'conflict') return s.revision !== input.expect && s.revision === output.revision ? [s] : [];
          const allowed = input.op === 'write' || s.revision === input.expect;
          if (output === undefined) return allowed ? [s, { value: input.value, revision: revisionOf(input.value) ?? -1 }] : [s];
          if (output.kind !== 'stored' || !allowed || output.revision <= s.revision) return [];
          return [{ value: input.value, revision: output.revision }];
        }
      }
    },
    describe(input, output) {
      const what = input.op === 'read' ? 'read' : input.op === 'write' ? `write ${JSON.stringify(input.value)}` : `cas ${input.expect} → ${JSON.stringify(input.value)}`;
      return `${what} = ${output === undefined ? 'unknown' : JSON.stringify(output)}`;
    },
  };
}

/** The `revisionOf` for a history: the revision reads saw with each value. */
export function revisionsReadIn(history: readonly RegisterOp[]): (value: string) => number | undefined {
  const seen = new Map<string, number>();
  for (const op of history) if (op.output?.kind === 'read' && op.output.value !== null) seen.set(op.output.value, op.output.revision);
  return (value) => seen.get(value);
}
