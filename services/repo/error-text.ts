/** Short code and message for any thrown value, for logs and snapshot error lists. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
