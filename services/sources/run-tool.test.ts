/** runTool: status, output collected or piped, and a missing program named with its Debian package. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { missingToolMessage, runTool } from './run-tool.ts';
import { SourceErrorCode } from './source-errors.ts';

describe('runTool', () => {
  it('returns the status with standard output and error, or pipes the output on', async () => {
    expect(await runTool('sh', ['-c', 'echo out; echo err >&2; exit 3'])).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (d: Buffer) => chunks.push(d));
    const r = await runTool('sh', ['-c', 'printf "$WHO"'], { env: { ...process.env, WHO: 'piped' }, stdout: sink });
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(Buffer.concat(chunks).toString()).toBe('piped');
  });

  it('names a program that is not installed, and the package that brings it', async () => {
    const err = await runTool('ferry-no-such-tool', []).catch((e: Error) => e);
    expect(hasCode(err, SourceErrorCode.MissingTool)).toBe(true);
    expect((err as Error).message).toBe('ferry-no-such-tool is not installed on this worker (Debian: apt-get install ferry-no-such-tool)');
    expect(missingToolMessage('pg_dump')).toMatch(/apt-get install postgresql-client/);
  });
});
