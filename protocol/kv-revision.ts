/**
 * Telling a lost race from a failure in revision-checked KV writes (`create`
 * of a key that exists, `update` at a revision the key moved past).
 */

/** True for the JetStream error a revision-checked KV write gets when the key moved on. */
export function isWrongRevision(err: unknown): boolean {
  // 10071: wrong last sequence; 10164: wrong last sequence, unknown. Checked by
  // code, not message, and without instanceof so duplicate module copies still match.
  const code = (err as { code?: unknown } | null)?.code;
  return code === 10071 || code === 10164;
}
