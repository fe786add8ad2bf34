/**
 * Prints a fresh `.env` for the docker-compose stack: one random password per NATS user
 * (client, admin, coordinator, replica-r1..r3), the secret the committed placeholders must
 * be replaced with before the stack is reachable by anyone else:
 *
 *   npm run build && node dist/scripts/compose-secrets.js > .env
 */
import { newPassword, passwordVariable, replicaUser } from '#runtime';

const users = ['client', 'admin', 'coordinator', ...['r1', 'r2', 'r3'].map(replicaUser)];
process.stdout.write(
  [
    '# Passwords of the compose stack\'s NATS users (docker-compose reads this file; nats-server and each app get theirs).',
    '# Keep it private (chmod 600); regenerate with: node dist/scripts/compose-secrets.js > .env',
    ...users.map((u) => `${passwordVariable(u)}=${newPassword()}`),
    '',
  ].join('\n'),
);
