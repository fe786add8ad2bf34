import * as fc from 'fast-check';
import { runSchedule, type Step } from '../../testing/convergence-harness';
import { text } from '../types/text';
function longSchedule(command: fc.Arbitrary<unknown>): fc.Arbitrary<Step[]> {
  const replica = fc.nat({ max: 2 });
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('command' as const), replica, command }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica, pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), replica, pick: fc.nat() }) },
  );
  return fc.array(step, { minLength: 40, maxLength: 150 });
}
it('stats', () => {
  const command = fc.oneof(
    { weight: 3, arbitrary: fc.record({ type: fc.constant('insert'), index: fc.nat({ max: 5 }), text: fc.string({ minLength: 1, maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('delete'), index: fc.nat({ max: 5 }), count: fc.integer({ min: 1, max: 3 }) }) },
  );
  const samples = fc.sample(longSchedule(command), 60);
  let ops = 0, len = 0, cmds = 0;
  for (const s of samples) { const o = runSchedule(text, s); ops += o.opsMade; len += (o.values[0] as string).length; cmds += s.filter((x) => x.kind === 'command').length; }
  console.log({ ops: ops / 60, cmds: cmds / 60, len: len / 60 });
});
