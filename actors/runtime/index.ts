/**
 * The actor runtime: the host that runs a handler on a durable consumer,
 * and the KV-backed state actors keep (leases, checkpoints, job records),
 * plus job events.
 */
export type { ActorContext, ActorMessage, Handler } from './actor-context.ts';
export type { ActorHostOptions } from './actor-config.ts';
export { ActorHost, runActor, type ActorStats } from './actor-host.ts';
export { Outcomes, type Outcome } from './outcome.ts';
export { createPublisher, type Publisher, type PublishOptions } from './publisher.ts';
export { RuntimeError, RuntimeErrorCode } from './errors.ts';
export { Leases, type Lease, type LeaseRecord } from './leases.ts';
export { LeaseKeeper, type LeaseKeeperOptions } from './lease-keeper.ts';
export { CheckpointStore, type Checkpoint } from './checkpoints.ts';
export { JobStore, JobState, canTransition, isTerminal, type JobRecord, type NewJob } from './job-store.ts';
export { followEvents, publishEvent, type EventSink, type FollowOptions } from './events.ts';
