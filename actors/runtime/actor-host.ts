/**
 * The actor host: runs one handler on one durable pull consumer.
 *
 * Concurrency is `concurrency` independent lanes, each pulling exactly one
 * message, handling it, and pulling again. Nothing is ever buffered
 * client-side, so a message waits in the stream (where any replica can take
 * it) rather than in a busy process, and adding a process that shares the
 * durable adds capacity. A lane whose pull fails (server restart, missed
 * heartbeats, consumer briefly gone) backs off and pulls again; the client
 * reconnects underneath.
 *
 * Contract:
 * - Every delivered message is settled exactly once by this process: ack,
 *   nak(delay), or dead-letter then term (see outcome.ts). Bad input
 *   (undecodable, invalid, unexpected kind, tenant mismatch) is dead-lettered
 *   and never reaches the handler; it never crashes the host.
 * - While a handler runs the host sends working() every ackWait/3.
 * - close() (safe to call twice) stops pulling, waits up to graceMs for
 *   running handlers, then naks (delay 0) what is still running and aborts
 *   its context signal, flushes so every ack/nak reaches the server, and
 *   resolves. It never closes the connection; its owner drains it afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsMsg, Consumer, ConsumerMessages } from '@nats-io/jetstream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { decode } from '../../protocol/codec.ts';
import { FerryError, ProtocolError, ProtocolErrorCode } from '../../protocol/errors.ts';
import type { AnyMessage, MessageKind } from '../../protocol/messages.ts';
import { tenantOfSubject } from '../../protocol/subjects.ts';
import type { ActorContext, ActorMessage } from './actor-context.ts';
import { compileConfig, type ActorConfig, type ActorHostOptions } from './actor-config.ts';
import { publishDeadLetter } from './dead-letter.ts';
import { RuntimeError, RuntimeErrorCode } from './errors.ts';
import { backoffDelay, settle, type Settlement } from './outcome.ts';
import { createPublisher, type Publisher } from './publisher.ts';
import { openBucket } from './open-bucket.ts';

export type { ActorHostOptions } from './actor-config.ts';

export interface ActorStats {
  readonly inFlight: number;
  readonly acked: number;
  readonly naked: number;
  readonly deadLettered: number;
}

interface InFlight {
  readonly msg: JsMsg;
  readonly controller: AbortController;
  settled: boolean;
}

/**
 * Not generic on purpose: the message kinds only matter for checking the
 * handler against `accepts` when starting, so every running actor has one
 * type a process can keep in a list.
 */
export class ActorHost {
  readonly #cfg: ActorConfig;
  readonly #consumer: Consumer;
  readonly #publisher: Publisher;
  readonly #buckets = new Map<string, Promise<KV>>();
  readonly #inFlight = new Set<InFlight>();
  readonly #pulls = new Set<ConsumerMessages>();
  readonly #stopped = new AbortController();
  readonly #lanes: Promise<void>[] = [];
  #stopping = false;
  #closing: Promise<void> | undefined;
  #counts = { acked: 0, naked: 0, deadLettered: 0 };

  private constructor(cfg: ActorConfig, consumer: Consumer) {
    this.#cfg = cfg;
    this.#consumer = consumer;
    const js = jetstream(cfg.nc);
    this.#publisher = createPublisher(js);
  }

  /** Binds to the durable (which ensureResources must have created) and starts pulling. */
  static async start<K extends MessageKind>(opts: ActorHostOptions<K>): Promise<ActorHost> {
    const durable = opts.durable ?? opts.actor;
    const info = await (await jetstreamManager(opts.nc)).consumers.info(opts.stream, durable);
    // Sound: the host only passes the handler messages whose kind is in `accepts`.
    const cfg = compileConfig(opts, info) as unknown as ActorConfig;
    const host = new ActorHost(cfg, await jetstream(opts.nc).consumers.get(opts.stream, durable));
    for (let i = 0; i < cfg.concurrency; i++) host.#lanes.push(host.#lane());
    cfg.log.info({ stream: cfg.stream, durable: cfg.durable, concurrency: cfg.concurrency, ackWaitMs: cfg.ackWaitMs }, 'actor started');
    return host;
  }

  stats(): ActorStats {
    return { inFlight: this.#inFlight.size, ...this.#counts };
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const { log, graceMs } = this.#cfg;
    this.#stopping = true;
    this.#stopped.abort();
    for (const pull of this.#pulls) void pull.close().catch(() => undefined);
    log.info({ inFlight: this.#inFlight.size, graceMs }, 'actor stopping');
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, graceMs, true)));
    const graceExpired = await Promise.race([Promise.all(this.#lanes).then(() => false), graceOver]);
    clearTimeout(timer);
    if (graceExpired) {
      for (const f of this.#inFlight) {
        if (f.settled) continue;
        this.#settleRaw(f, { action: 'nak', delayMs: 0 });
        f.controller.abort(new RuntimeError(RuntimeErrorCode.HandlerFailed, 'shutdown grace period over; message handed back', { retryable: true }));
      }
      log.warn({ handedBack: this.#inFlight.size }, 'grace period over; running messages handed back');
    }
    await this.#cfg.nc.flush().catch(() => undefined);
    log.info(this.stats(), 'actor stopped');
  }

  async #lane(): Promise<void> {
    let failures = 0;
    while (!this.#stopping && !this.#cfg.nc.isClosed()) {
      let msg: JsMsg | undefined;
      try {
        msg = await this.#pullOne();
        failures = 0;
      } catch (err) {
        if (this.#stopping || this.#cfg.nc.isClosed()) break;
        failures++;
        this.#cfg.log.warn({ err, failures }, 'pull failed; retrying');
        await sleep(Math.min(250 * 2 ** Math.min(failures - 1, 5), 5000), undefined, { signal: this.#stopped.signal }).catch(() => undefined);
        continue;
      }
      if (msg === undefined) continue;
      // A message that raced with shutdown goes straight back.
      if (this.#stopping) {
        this.#settleRaw({ msg, controller: new AbortController(), settled: false }, { action: 'nak', delayMs: 0 });
        continue;
      }
      await this.#process(msg);
    }
  }

  /** One message or none (pull expired); the pull is registered so close() can cut it short. */
  async #pullOne(): Promise<JsMsg | undefined> {
    const pull = await this.#consumer.fetch({ max_messages: 1, expires: this.#cfg.pullExpiresMs });
    this.#pulls.add(pull);
    try {
      for await (const m of pull) return m;
      return undefined;
    } finally {
      this.#pulls.delete(pull);
    }
  }

  async #process(msg: JsMsg): Promise<void> {
    const f: InFlight = { msg, controller: new AbortController(), settled: false };
    this.#inFlight.add(f);
    try {
      let decoded: AnyMessage;
      try {
        decoded = this.#admit(msg);
      } catch (err) {
        const e = err instanceof FerryError ? err : new ProtocolError(ProtocolErrorCode.Undecodable, String(err), { cause: err });
        await this.#settle(f, { action: 'dead-letter', code: e.code, reason: e.message });
        return;
      }
      await this.#invoke(f, decoded);
    } finally {
      this.#inFlight.delete(f);
    }
  }

  /** Decodes and checks a message against what this actor accepts. Throws FerryError. */
  #admit(msg: JsMsg): AnyMessage {
    const decoded = decode(msg.data, msg.headers);
    if (!this.#cfg.accepts.has(decoded.kind)) {
      throw new ProtocolError(ProtocolErrorCode.UnexpectedKind, `actor ${this.#cfg.actor} does not handle ${decoded.kind}`, { details: { kind: decoded.kind } });
    }
    const value = decoded.value as { tenant?: unknown };
    if (typeof value.tenant === 'string' && value.tenant !== tenantOfSubject(msg.subject)) {
      // Permissions are granted per subject tenant; a body naming another tenant is refused.
      throw new ProtocolError(ProtocolErrorCode.TenantMismatch, `message for tenant ${value.tenant} arrived on ${msg.subject}`, {
        details: { kind: decoded.kind, tenant: value.tenant },
      });
    }
    return decoded;
  }

  async #invoke(f: InFlight, decoded: AnyMessage): Promise<void> {
    const { msg } = f;
    const value = decoded.value as { tenant?: string; jobId?: string };
    const message = {
      kind: decoded.kind,
      value: decoded.value,
      subject: msg.subject,
      seq: msg.seq,
      redelivered: msg.redelivered,
      deliveryCount: msg.info.deliveryCount,
    } as ActorMessage;
    // Handlers call this per file; one signal per gap (a second, or less for a short ackWait) is plenty.
    const gapMs = Math.min(1000, this.#cfg.heartbeatMs);
    let lastBeat = 0;
    const heartbeat = (): void => {
      const now = Date.now();
      if (now - lastBeat < gapMs || f.settled || this.#cfg.nc.isClosed()) return;
      lastBeat = now;
      msg.working();
    };
    const ctx: ActorContext = {
      log: this.#cfg.log.child({ tenant: value.tenant, job: value.jobId }),
      signal: f.controller.signal,
      heartbeat,
      publish: (subject, kind, v, opts) => this.#publisher.publish(subject, kind, v, opts),
      kv: (bucket) => this.#kv(bucket),
    };
    const timer = setInterval(heartbeat, this.#cfg.heartbeatMs);
    let result: Parameters<typeof settle>[0];
    try {
      result = { outcome: await this.#cfg.handler(ctx, message) };
    } catch (error) {
      result = { error };
    } finally {
      clearInterval(timer);
    }
    if (f.settled) {
      ctx.log.info({ seq: msg.seq }, 'handler finished after its message was handed back; result ignored');
      return;
    }
    if ('error' in result) ctx.log.warn({ err: result.error, seq: msg.seq, delivery: message.deliveryCount }, 'handler failed');
    await this.#settle(f, settle(result, message.deliveryCount, this.#cfg.retry, f.controller.signal.aborted));
  }

  #kv(bucket: string): Promise<KV> {
    let kv = this.#buckets.get(bucket);
    if (kv === undefined) {
      kv = openBucket(this.#cfg.nc, bucket);
      kv.catch(() => this.#buckets.delete(bucket));
      this.#buckets.set(bucket, kv);
    }
    return kv;
  }

  async #settle(f: InFlight, s: Settlement): Promise<void> {
    if (s.action !== 'dead-letter') return this.#settleRaw(f, s);
    const { msg } = f;
    const { log, actor, stream } = this.#cfg;
    try {
      await publishDeadLetter(
        this.#publisher,
        { actor, stream, streamSeq: msg.seq, subject: msg.subject, headers: msg.headers, data: msg.data, code: s.code, reason: s.reason },
        { maxPayload: this.#cfg.maxPayload, now: this.#cfg.now() },
      );
    } catch (err) {
      // Keep the message rather than drop it: it comes back and is dead-lettered then.
      log.error({ err, seq: msg.seq }, 'could not publish dead letter; message will be redelivered');
      return this.#settleRaw(f, { action: 'nak', delayMs: backoffDelay(msg.info.deliveryCount, this.#cfg.retry) });
    }
    if (f.settled) return;
    log.warn({ seq: msg.seq, subject: msg.subject, code: s.code, reason: s.reason }, 'message dead-lettered');
    this.#counts.deadLettered++;
    f.settled = true;
    try {
      // No reason argument: nats-server 2.9 only recognises a bare +TERM and
      // silently ignores "+TERM <reason>"; the reason is in the dead letter.
      msg.term();
    } catch (err) {
      log.warn({ err, seq: msg.seq }, 'term failed; the message will be redelivered and dead-lettered again (deduplicated)');
    }
  }

  /** Acks or naks once; a connection that closed meanwhile leaves the server to redeliver. */
  #settleRaw(f: InFlight, s: Exclude<Settlement, { action: 'dead-letter' }>): void {
    if (f.settled) return;
    f.settled = true;
    try {
      if (s.action === 'ack') {
        f.msg.ack();
        this.#counts.acked++;
      } else {
        if (s.delayMs > 0) f.msg.nak(s.delayMs);
        else f.msg.nak();
        this.#counts.naked++;
      }
    } catch (err) {
      this.#cfg.log.warn({ err, seq: f.msg.seq, action: s.action }, 'could not settle message; the server will redeliver it');
    }
  }
}

/** Starts an actor host; see ActorHost. */
export function runActor<K extends MessageKind>(opts: ActorHostOptions<K>): Promise<ActorHost> {
  return ActorHost.start(opts);
}
