import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeNatsConfig, passwordVariable } from './compose-config';

const ROOT = join(__dirname, '..', '..', '..', '..');

describe('compose config', () => {
  it('compose - the committed deploy/nats/nats-server.conf is the generator output (regenerate it, do not edit it)', () => {
    expect(readFileSync(join(ROOT, 'deploy', 'nats', 'nats-server.conf'), 'utf8')).toBe(composeNatsConfig(['r1', 'r2', 'r3']));
  });

  it('compose - every password is a variable that docker-compose.yml and .env provide', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const dotenv = readFileSync(join(ROOT, '.env'), 'utf8');
    for (const user of ['client', 'admin', 'coordinator', 'replica-r1', 'replica-r2', 'replica-r3']) {
      const v = passwordVariable(user);
      expect(composeNatsConfig(['r1', 'r2', 'r3'])).toContain(`password: $${v}`);
      expect(compose).toContain(`${v}: \${${v}:?`);
      expect(dotenv).toMatch(new RegExp(`^${v}=.{16,}$`, 'm'));
    }
    expect(passwordVariable('replica-r1')).toBe('CRDT_REPLICA_R1_PASSWORD');
  });
});
