/**
 * Entry point. Turns on Node's compile cache before anything else loads:
 * Ferry runs as TypeScript through type stripping, and compiling and
 * stripping its modules costs about 0.3 s at every start; cached, a start
 * reads the result back. The cache lives in the user's cache directory
 * (NODE_COMPILE_CACHE overrides it) and is only an optimization: when it
 * cannot be written, Ferry runs uncached. It goes into the environment too,
 * because worker threads read it from there (their start halves, ~200 to
 * ~100 ms). bin/ferry sets it before Node starts, which also covers this
 * module; this fallback serves `node cli/ferry.ts` run directly.
 */
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

if (process.env.NODE_COMPILE_CACHE === undefined) {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  process.env.NODE_COMPILE_CACHE = join(base, 'ferry', 'compile-cache');
  enableCompileCache(process.env.NODE_COMPILE_CACHE);
}
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
