import { randomUUID } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RoutedS3Event } from "./events";

/** A routed S3 notification whose handler has not finished yet. */
export interface JournalEntry extends RoutedS3Event {
  readonly id: string;
}

/**
 * Write-ahead journal of S3 notifications: an event is recorded before its handler runs and
 * removed when the handler has finished, so a notification that arrived just before the server
 * stopped (or crashed) is handled after the restart instead of being lost. Replaying is safe: the
 * handlers are idempotent (the same submit file starts exactly one job, SPEC 4.6).
 */
export class EventJournal {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, JournalEntry>,
  ) {}

  static async open(file: string): Promise<EventJournal> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const entries = new Map<string, JournalEntry>();
    try {
      for (const e of JSON.parse(await fsp.readFile(file, "utf8")) as JournalEntry[]) entries.set(e.id, e);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(
          `cannot read the event journal ${file}: ${(err as Error).message}; move it away to start fresh`,
          { cause: err },
        );
      }
    }
    return new EventJournal(file, entries);
  }

  /** Entries left over by the previous run, oldest first. */
  pending(): readonly JournalEntry[] {
    return [...this.entries.values()];
  }

  async add(event: RoutedS3Event): Promise<JournalEntry> {
    const entry = { ...event, id: randomUUID() };
    this.entries.set(entry.id, entry);
    await this.flush();
    return entry;
  }

  async remove(id: string): Promise<void> {
    if (this.entries.delete(id)) await this.flush();
  }

  private flush(): Promise<void> {
    const snapshot = JSON.stringify([...this.entries.values()]);
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, snapshot);
      await fsp.rename(tmp, this.file);
    });
    return this.writing;
  }
}
