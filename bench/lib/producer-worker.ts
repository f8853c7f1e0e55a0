/**
 * Worker-thread entry for the records benchmark: the scanner on its own
 * thread and its own NATS connection, as it is in its own process (or
 * replica) in a deployment. The parent sends ProduceOptions, one run at a
 * time; the worker answers with Produced or an error message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { createPublisher } from '../../actors/runtime/publisher.ts';
import { produce, type ProduceOptions, type Produced } from './scan-producer.ts';

export type ProducerReply = { readonly ok: Produced } | { readonly error: string };

const port = parentPort;
if (port === null) throw new Error('producer-worker.ts runs as a worker thread');
const { url } = workerData as { url: string };
const nc = await connect({ servers: url });
const publisher = createPublisher(jetstream(nc));

port.on('message', (msg: ProduceOptions | 'close') => {
  if (msg === 'close') {
    void nc.close().finally(() => port.close());
    return;
  }
  produce(publisher, msg).then(
    (ok) => port.postMessage({ ok } satisfies ProducerReply),
    (err: unknown) => port.postMessage({ error: String((err as Error)?.stack ?? err) } satisfies ProducerReply),
  );
});
port.postMessage('ready');
