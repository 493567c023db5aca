/** A one-line transfer progress bar, drawn only when the output stream is a terminal. */
export interface ProgressBarArgs {
  readonly stream: NodeJS.WriteStream;
  readonly label: string;
  readonly total: number;
  readonly width?: number;
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Pure rendering of one progress line. */
export function renderProgress(label: string, done: number, total: number, width = 30): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  return `${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)}`;
}

export class ProgressBar {
  private readonly enabled: boolean;
  private lastDrawn = 0;

  constructor(private readonly args: ProgressBarArgs) {
    this.enabled = Boolean(args.stream.isTTY);
  }

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.args.total && now - this.lastDrawn < 100) return;
    this.lastDrawn = now;
    this.args.stream.write(`\r${renderProgress(this.args.label, done, this.args.total, this.args.width)}`);
  }

  finish(): void {
    if (!this.enabled) return;
    this.args.stream.write(`\r${renderProgress(this.args.label, this.args.total, this.args.total, this.args.width)}\n`);
  }
}
