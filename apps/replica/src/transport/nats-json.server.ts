import { CustomTransportStrategy, NatsContext, Server } from '@nestjs/microservices';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { isObservable, lastValueFrom } from 'rxjs';
import { errorReply, parseBody } from '#protocol';

/** Which Nest patterns a subject may reach, and how its messages are handled. */
export interface JsonRoute {
  /** Subject with a trailing `*` for the command token, or an exact subject for events. */
  readonly subject: string;
  readonly queue?: string;
  /** Request/reply routes take the command from the subject's last token; events name their pattern. */
  readonly kind: 'request' | 'event';
  /** For requests: the commands allowed on this subject. For events: the one pattern. */
  readonly patterns: readonly string[];
}

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
        queue: route.queue,
        callback: (err, msg) => {
          if (err) return;
          if (route.kind === 'request') void this.onRequest(msg, route);
          else void this.onEvent(msg, route.patterns[0]);
        },
      });
      this.subscriptions.push(sub);
    }
    callback();
  }

  private async onRequest(msg: Msg, route: JsonRoute): Promise<void> {
    const command = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    const reply = await this.dispatch(msg, command, route);
    if (!msg.reply) return;
    try {
      msg.respond(JSON.stringify(reply));
    } catch {
      /* the requester went away */
    }
  }

  private async dispatch(msg: Msg, command: string, route: JsonRoute): Promise<unknown> {
    const parsed = parseBody(msg.data);
    if (!parsed.ok) return parsed;
    const handler = route.patterns.includes(command) ? this.handler(command) : null;
    if (!handler) return errorReply('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(command)} on ${route.subject}; commands: ${route.patterns.join(', ')}`);
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
