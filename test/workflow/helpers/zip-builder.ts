import * as fs from "node:fs";
import { crc32, deflateRawSync } from "node:zlib";

/**
 * Builds ZIP archives for tests, including broken ones no archiver would write (entries escaping
 * the target folder, wrong CRC-32s). Stored or deflated entries; names ending in / are folders.
 */

export interface ZipOptions {
  /** Deflate file entries (default true). */
  readonly deflate?: boolean;
  /** Entries whose recorded CRC-32 is wrong (corrupt archives). */
  readonly badCrc?: readonly string[];
}

interface Built {
  readonly local: Buffer;
  readonly central: Buffer;
}

function entry(name: string, content: string | Buffer, offset: number, options: ZipOptions): Built {
  const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const isDir = name.endsWith("/");
  const method = options.deflate !== false && !isDir ? 8 : 0;
  const stored = method === 8 ? deflateRawSync(data) : data;
  return headers(
    name,
    method,
    (crc32(data) ^ (options.badCrc?.includes(name) ? 1 : 0)) >>> 0,
    stored.length,
    data.length,
    offset,
    stored,
  );
}

function headers(
  name: string,
  method: number,
  crc: number,
  compressedSize: number,
  size: number,
  offset: number,
  stored: Buffer,
): Built {
  const nameBuf = Buffer.from(name, "utf8");
  // The local header and the central directory entry share these fields; the central one has
  // "version made by" in front of them (so they start 2 bytes later) and the local header's offset.
  const shared = (buf: Buffer, at: number): Buffer => {
    buf.writeUInt16LE(20, at); // version needed to extract
    buf.writeUInt16LE(0x0800, at + 2); // flags: UTF-8 names
    buf.writeUInt16LE(method, at + 4);
    buf.writeUInt32LE(crc, at + 10);
    buf.writeUInt32LE(compressedSize, at + 14);
    buf.writeUInt32LE(size, at + 18);
    buf.writeUInt16LE(nameBuf.length, at + 22);
    return buf;
  };
  const lh = shared(Buffer.alloc(30), 4);
  lh.writeUInt32LE(0x04034b50, 0);
  const ch = shared(Buffer.alloc(46), 6);
  ch.writeUInt32LE(0x02014b50, 0);
  ch.writeUInt16LE(20, 4); // version made by
  ch.writeUInt32LE(offset, 42);
  return { local: Buffer.concat([lh, nameBuf, stored]), central: Buffer.concat([ch, nameBuf]) };
}

function endOfCentralDirectory(count: number, centralSize: number, centralOffset: number): Buffer {
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(centralSize, 12);
  eocd.writeUInt32LE(centralOffset, 16);
  return eocd;
}

export function buildZip(entries: Record<string, string | Buffer>, options: ZipOptions | boolean = {}): Buffer {
  const opts: ZipOptions = typeof options === "boolean" ? { deflate: options } : options;
  const built: Built[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const b = entry(name, content, offset, opts);
    built.push(b);
    offset += b.local.length;
  }
  const central = Buffer.concat(built.map((b) => b.central));
  return Buffer.concat([
    ...built.map((b) => b.local),
    central,
    endOfCentralDirectory(built.length, central.length, offset),
  ]);
}

/**
 * A ZIP file larger than 2 GiB that takes almost no disk: it starts with a stored entry `bigName`
 * of `bigSize` zero bytes left as a hole of the (sparse) file, followed by `entries`. The big
 * entry's CRC-32 is not computed: only its size matters to the reader that skips it.
 */
export function writeSparseZip(
  file: string,
  bigName: string,
  bigSize: number,
  entries: Record<string, string | Buffer>,
): void {
  const big = headers(bigName, 0, 0, bigSize, bigSize, 0, Buffer.alloc(0));
  let offset = big.local.length + bigSize;
  const built: Built[] = [];
  for (const [name, content] of Object.entries(entries)) {
    const b = entry(name, content, offset, {});
    built.push(b);
    offset += b.local.length;
  }
  const central = Buffer.concat([big.central, ...built.map((b) => b.central)]);
  const fd = fs.openSync(file, "w");
  try {
    fs.writeSync(fd, big.local, 0, big.local.length, 0);
    let at = big.local.length + bigSize;
    for (const b of [
      ...built.map((x) => x.local),
      central,
      endOfCentralDirectory(built.length + 1, central.length, offset),
    ]) {
      fs.writeSync(fd, b, 0, b.length, at);
      at += b.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}
