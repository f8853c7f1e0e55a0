/**
 * Dead letters: a message the actor will never process is republished to
 * `ferry.dlq.<tenant>.<actor>` as a `dead-letter/1` carrying the reason, the
 * error code, the original headers and bytes, so it can be inspected with
 * `nats stream view FERRY_DLQ` and replayed by hand. Only after the dead
 * letter is stored does the host term the original.
 */
import type { MsgHdrs } from '@nats-io/nats-core';
import type { PubAck } from '@nats-io/jetstream';
import { headersToRecord } from '../../protocol/codec.ts';
import { MAX_MSG_SIZE } from '../../protocol/resources.ts';
import { subjects, tenantOfSubject } from '../../protocol/subjects.ts';
import type { Publisher } from './publisher.ts';

const MAX_REASON = 4096;
const MAX_SUBJECT = 4096;
/** Room left in a message for everything but the original payload. */
const ENVELOPE_RESERVE = 64 * 1024;

export interface DeadLetterInput {
  readonly actor: string;
  readonly stream: string;
  readonly streamSeq: number;
  readonly subject: string;
  readonly headers: MsgHdrs | undefined;
  readonly data: Uint8Array;
  readonly code: string;
  readonly reason: string;
}

/**
 * Publishes the dead letter and resolves once FERRY_DLQ stored it. The
 * Nats-Msg-Id is the original's stream position, so a redelivered message
 * dead-lettered again inside the duplicate window is stored once.
 */
export function publishDeadLetter(publisher: Publisher, input: DeadLetterInput, opts: { maxPayload: number; now: number }): Promise<PubAck> {
  const headers = headersToRecord(input.headers);
  const headerBytes = Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 8, 0);
  const budget = Math.max(0, Math.min(opts.maxPayload, MAX_MSG_SIZE) - ENVELOPE_RESERVE - headerBytes);
  let reason = input.reason || input.code;
  let payload = input.data;
  if (payload.length > budget) {
    reason += ` (payload truncated from ${payload.length} to ${budget} bytes)`;
    payload = payload.subarray(0, budget);
  }
  return publisher.publish(
    subjects.dlq(tenantOfSubject(input.subject), input.actor),
    'dead-letter',
    {
      actor: input.actor,
      subject: input.subject.slice(0, MAX_SUBJECT),
      reason: reason.slice(0, MAX_REASON),
      code: input.code.slice(0, 200) || 'unknown',
      headers,
      payload,
      at: opts.now,
    },
    { msgID: `dl-${input.stream}-${input.streamSeq}` },
  );
}
