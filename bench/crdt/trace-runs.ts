import { canonicalJson } from '../../libs/crdt/src/encoding/canonical-json';
import { text, type TextState } from '../../libs/crdt/src/types/text';
import { measure, num, type Measured, type Trace } from '../bench-support';

/**
 * The editing trace run in memory on three implementations: our `text` type (prepare +
 * apply per edit, one replica), Yjs's Y.Text (one transaction per edit) and Automerge
 * (batches of edits per change). Used by `npm run bench:crdt` and by the `npm run bench`
 * suite, which compare the figures. Each run checks its result against the trace's final
 * text; a failed prepare throws.
 */

/** Edits per Automerge change: per-edit changes are far slower, one change for all is unrealistic. */
export const AUTOMERGE_EDITS_PER_CHANGE = 10_000;
/** Samples of the heap during a trace run. */
const SAMPLE_EVERY_EDITS = 8_192;

function fail(message: string): never {
  throw new Error(message);
}

/** What a trace run checked and encoded. */
export interface TraceInfo {
  readonly ok: boolean;
  readonly length: number;
  readonly encodedBytes: number;
  readonly detail: string;
}

/** Our text type on the trace. */
export function runOurs(trace: Trace): Measured<TraceInfo> {
  const { edits, finalText } = trace;
  return measure(
    (sample) => {
      const state = text.create(null);
      let time = 0;
      for (let i = 0; i < edits.length; i++) {
        const [pos, del, ins] = edits[i];
        if (del > 0) {
          const op = text.prepare(state, { type: 'delete', index: pos, count: del }, { replica: 'bench', time: ++time });
          if (!op.ok) fail(`edit ${i}: ${op.error.code} ${op.error.message}`);
          text.apply(state, op.value);
        }
        if (ins.length > 0) {
          const op = text.prepare(state, { type: 'insert', index: pos, text: ins }, { replica: 'bench', time: ++time });
          if (!op.ok) fail(`edit ${i}: ${op.error.code} ${op.error.message}`);
          text.apply(state, op.value);
        }
        if ((i & (SAMPLE_EVERY_EDITS - 1)) === 0) sample();
      }
      return state;
    },
    (state: TextState) => {
      const value = text.value(state);
      const encoded = text.encode(state);
      return {
        ok: value === finalText,
        length: value.length,
        encodedBytes: Buffer.byteLength(canonicalJson(encoded), 'utf8'),
        detail: `canonical JSON, ${num((encoded as { runs: unknown[] }).runs.length)} runs`,
      };
    },
  );
}

/** The yjs module (imported dynamically: it is ESM). */
export type YModule = typeof import('yjs');

/** Yjs Y.Text on the trace. */
export function runYjs(Y: YModule, trace: Trace): Measured<TraceInfo> {
  const { edits, finalText } = trace;
  return measure(
    (sample) => {
      const doc = new Y.Doc();
      const t = doc.getText('text');
      for (let i = 0; i < edits.length; i++) {
        const [pos, del, ins] = edits[i];
        if (del > 0) t.delete(pos, del);
        if (ins.length > 0) t.insert(pos, ins);
        if ((i & (SAMPLE_EVERY_EDITS - 1)) === 0) sample();
      }
      return doc;
    },
    (doc) => {
      const value = doc.getText('text').toString();
      return { ok: value === finalText, length: value.length, encodedBytes: Y.encodeStateAsUpdate(doc).byteLength, detail: 'binary update (encodeStateAsUpdate)' };
    },
  );
}

/** The Automerge module (imported dynamically: it is ESM). */
export type AModule = typeof import('@automerge/automerge');

/** Automerge on the trace. */
export function runAutomerge(A: AModule, trace: Trace): Measured<TraceInfo> {
  const { edits, finalText } = trace;
  return measure(
    (sample) => {
      let doc = A.from<{ text: string }>({ text: '' });
      for (let i = 0; i < edits.length; i += AUTOMERGE_EDITS_PER_CHANGE) {
        const end = Math.min(i + AUTOMERGE_EDITS_PER_CHANGE, edits.length);
        doc = A.change(doc, (d) => {
          for (let j = i; j < end; j++) A.splice(d, ['text'], edits[j][0], edits[j][1], edits[j][2]);
        });
        sample();
      }
      return doc;
    },
    (doc) => ({ ok: doc.text === finalText, length: doc.text.length, encodedBytes: A.save(doc).byteLength, detail: 'binary document (save)' }),
    true,
  );
}
