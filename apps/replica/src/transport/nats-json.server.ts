import { CustomTransportStrategy, NatsContext, Server } from '@nestjs/microservices';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { isObservable, lastValueFrom } from 'rxjs';
import { errorReply, parseBody, type ReplicaSubscription } from '#protocol';

/**
 * What the server subscribes to (the protocol's command table makes the list, see
 * `replicaSubscriptions`): request subjects end in `*`, the command token, and carry the
 * commands listed; an event subject carries one event, the Nest pattern of its handler.
 */
export type JsonRoute = ReplicaSubscription;

/** The Nest pattern of the one handler every request goes to (it reads the command from the subject). */
export const REQUEST_PATTERN = 'request';

/**
 * A Nest transport strategy that speaks the store's plain-JSON protocol on NATS: a request
 * body is the JSON object itself (no `{pattern,data,id}` envelope), the command is the
 * subject's last token, and the reply is the handler's JSON as it is. Nest's default NATS
 * transport would wrap both ways and treat plain JSON as an event without a reply, which
 * no client in another language should have to know about.
 */
export class NatsJsonServer extends Server implements CustomTransportStrategy {
  private nc: NatsConnection | undefined;
  private routes: readonly JsonRoute[] = [];
  private readonly subscriptions: Subscription[] = [];
  private readonly handlers = new Map<string, ReturnType<Server['getHandlerByPattern']>>();

  /** Gives the server its connection and routes (known only once the app's providers exist). */
  bind(nc: NatsConnection, routes: readonly JsonRoute[]): void {
    this.nc = nc;
    this.routes = routes;
  }

  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    if (!this.nc) throw new Error('NatsJsonServer.listen before bind');
    for (const route of this.routes) {
      const sub = this.nc.subscribe(route.subject, {
        queue: route.kind === 'request' ? route.queue : undefined,
        callback: (err, msg) => {
          if (err) return;
          if (route.kind === 'request') void this.onRequest(msg, route);
          else void this.onEvent(msg, route.event);
        },
      });
      this.subscriptions.push(sub);
    }
    callback();
  }

  private async onRequest(msg: Msg, route: JsonRoute & { kind: 'request' }): Promise<void> {
    const command = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    const reply = await this.dispatch(msg, command, route);
    if (!msg.reply) return;
    try {
      // A Buffer: nats.js would encode a string with TextEncoder, an unpooled allocation per
      // reply; Buffer.from takes small ones from Node's pool (issue 11 profile).
      msg.respond(Buffer.from(JSON.stringify(reply)));
    } catch {
      /* the requester went away */
    }
  }

  private async dispatch(msg: Msg, command: string, route: JsonRoute & { kind: 'request' }): Promise<unknown> {
    const parsed = parseBody(msg.data);
    if (!parsed.ok) return parsed;
    const handler = (route.commands as readonly string[]).includes(command) ? this.handler(REQUEST_PATTERN) : null;
    if (!handler) return errorReply('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(command)} on ${route.subject}; commands: ${route.commands.join(', ')}`);
    try {
      // The replica's handlers answer with promises: awaiting them directly spares every
      // request an observable, a subscription and their promise hops (issue 11 profile).
      // An observable result (none today) still goes through rxjs.
      const result: unknown = await handler(parsed.body, new NatsContext([msg.subject, msg.headers]));
      return isObservable(result) ? await lastValueFrom(result) : await result;
    } catch (e) {
      return errorReply('INTERNAL', `handler failed: ${(e as Error)?.message ?? e}`);
    }
  }

  private async onEvent(msg: Msg, pattern: string): Promise<void> {
    const parsed = parseBody(msg.data);
    const handler = this.handler(pattern);
    if (!parsed.ok || !handler) return;
    try {
      await handler(parsed.body, new NatsContext([msg.subject, msg.headers]));
    } catch {
      /* events are hints; a bad one is dropped */
    }
  }

  /** Nest's lookup parses the pattern as JSON first (and throws for plain names): do it once per pattern. */
  private handler(pattern: string) {
    let h = this.handlers.get(pattern);
    if (h === undefined) {
      h = this.getHandlerByPattern(pattern);
      this.handlers.set(pattern, h);
    }
    return h;
  }

  on(): void {
    /* no transport events to expose */
  }

  unwrap<T>(): T {
    return this.nc as T;
  }

  close(): void {
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions.length = 0;
  }
}
