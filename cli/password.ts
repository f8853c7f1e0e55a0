/** Reads the repository passphrase as the compiled config says. */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { CliConfig } from './config.ts';
import { UsageError } from './usage-error.ts';

export async function readPassword(cfg: CliConfig, env: NodeJS.ProcessEnv, purpose = 'repository passphrase'): Promise<string> {
  const p = cfg.password;
  switch (p.from) {
    case 'env':
      return env.FERRY_PASSWORD ?? '';
    case 'file': {
      const text = await readFile(p.path, 'utf8').catch((cause: unknown) => {
        throw new UsageError(`cannot read the password file ${p.path}: ${(cause as Error).message}`);
      });
      return text.replace(/\r?\n$/, '');
    }
    case 'prompt':
      return prompt(`${purpose}: `);
    case 'none':
      throw new UsageError('no passphrase: set FERRY_PASSWORD or FERRY_PASSWORD_FILE (or run on a terminal to be asked)');
  }
}

async function prompt(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Hide typed characters: echo nothing but the prompt.
  const out = rl as unknown as { _writeToOutput?: (s: string) => void };
  let asked = false;
  out._writeToOutput = (s: string) => {
    if (!asked) {
      process.stderr.write(s);
      asked = true;
    }
  };
  try {
    return await new Promise<string>((res) => rl.question(question, res));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
