/**
 * Publishing typed messages to JetStream: encode with the protocol codec
 * (validating on the way out), publish with its headers, await the PubAck.
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { encode } from '../../protocol/codec.ts';
import type { MessageKind, MessageOf } from '../../protocol/messages.ts';

export interface PublishOptions {
  /** Nats-Msg-Id: the stream drops a repeat within its duplicate window. */
  readonly msgID?: string;
  readonly timeoutMs?: number;
}

/**
 * Publishes one message and resolves once the stream has stored it.
 * Rejects with `protocol.invalid` for a malformed message (a caller bug),
 * or with the client's error when the stream cannot be reached.
 */
export interface Publisher {
  publish<K extends MessageKind>(subject: string, kind: K, value: MessageOf<K>, opts?: PublishOptions): Promise<PubAck>;
}

export function createPublisher(js: JetStreamClient): Publisher {
  return {
    publish(subject, kind, value, opts = {}) {
      const { data, headers } = encode(kind, value);
      return js.publish(subject, data, {
        headers,
        ...(opts.msgID === undefined ? {} : { msgID: opts.msgID }),
        ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
      });
    },
  };
}
