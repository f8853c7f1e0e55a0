/**
 * Ferry's wire protocol: subjects, message kinds with validators, the
 * msgpack codec, resource definitions and errors that cross the wire.
 * Everything else imports the protocol from here; the protocol imports
 * nothing of ours.
 */
export * from './errors.ts';
export * from './subjects.ts';
export * from './messages.ts';
export * from './codec.ts';
export * from './resources.ts';
export { Fields, isPlainObject } from './fields.ts';
