/**
 * A one-line progress display on stderr, only when stderr is a TTY and
 * output is not JSON. Redraws at most five times a second.
 */
export interface ProgressLine {
  update(text: string, fraction?: number): void;
  done(): void;
}

const NOOP: ProgressLine = { update() {}, done() {} };

export function progressLine(enabled: boolean): ProgressLine {
  if (!enabled || !process.stderr.isTTY) return NOOP;
  let last = 0;
  let shown = false;
  return {
    update(text, fraction) {
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      const width = process.stderr.columns ?? 80;
      let bar = '';
      if (fraction !== undefined && Number.isFinite(fraction)) {
        const n = Math.max(0, Math.min(20, Math.round(fraction * 20)));
        bar = `[${'#'.repeat(n)}${'.'.repeat(20 - n)}] ${Math.round(fraction * 100)}% `;
      }
      process.stderr.write(`\r\x1b[2K${(bar + text).slice(0, width - 1)}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
