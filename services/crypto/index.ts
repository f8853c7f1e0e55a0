export * from './errors.ts';
export * from './aead.ts';
export * from './kdf.ts';
export * from './x25519.ts';
export * from './tenant-keys.ts';
export * from './key-file.ts';
