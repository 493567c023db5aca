import type { JobState } from "./job-state";

/** Prints a line on stderr whenever a dataset's status changes. */
export function watchPrinter(stream: NodeJS.WritableStream = process.stderr): (state: JobState) => void {
  const seen = new Map<string, string>();
  return (state) => {
    for (const d of state.datasets) {
      const status = d.status ?? "UNKNOWN";
      if (seen.get(d.file) !== status) {
        seen.set(d.file, status);
        stream.write(`${new Date().toISOString()} ${d.input ?? d.file}: ${status}\n`);
      }
    }
  };
}
