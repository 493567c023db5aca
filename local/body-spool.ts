/**
 * Holds a request body until it has been verified (payload hash, chunk signatures), so that a
 * body that fails verification is never handed to the store. Small bodies (upload parts of the
 * CLIs are 8 MiB) stay in memory; larger ones spill to a private temp file.
 */
import { createReadStream, promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { randomUUID } from "node:crypto";

const MEMORY_LIMIT = 16 * 1024 * 1024;

export class BodySpool {
  private chunks: Buffer[] = [];
  private file?: { path: string; handle: FileHandle };
  private bytes = 0;

  constructor(
    private readonly directory: string,
    private readonly memoryLimit = MEMORY_LIMIT,
  ) {}

  get size(): number {
    return this.bytes;
  }

  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    this.bytes += data.length;
    if (!this.file && this.bytes <= this.memoryLimit) {
      this.chunks.push(Buffer.from(data));
      return;
    }
    if (!this.file) {
      const file = path.join(this.directory, `${randomUUID()}.body`);
      this.file = { path: file, handle: await fsp.open(file, "wx", 0o600) };
      for (const c of this.chunks) await this.file.handle.write(c);
      this.chunks = [];
    }
    await this.file.handle.write(data);
  }

  /** The whole body in memory (for small XML bodies such as DeleteObjects). */
  async buffer(): Promise<Buffer> {
    if (!this.file) return Buffer.concat(this.chunks);
    return fsp.readFile(this.file.path);
  }

  /** A stream of the body (call once, after the last write). */
  async replay(): Promise<Readable> {
    if (!this.file) return Readable.from(this.chunks, { objectMode: false });
    await this.file.handle.close();
    return createReadStream(this.file.path);
  }

  async dispose(): Promise<void> {
    this.chunks = [];
    if (this.file) {
      await this.file.handle.close().catch(() => undefined);
      await fsp.rm(this.file.path, { force: true });
      this.file = undefined;
    }
  }
}
