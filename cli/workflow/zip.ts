import * as fs from "node:fs";
import * as path from "node:path";
import { inflateRawSync } from "node:zlib";

/**
 * A small ZIP reader (stored and deflated entries, ZIP64 sizes) for `scripting parse-zip`:
 * the archive must hold exactly one top-level entry (ignoring `__MACOSX`), usually a folder,
 * which is extracted.
 */

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
  readonly isDirectory: boolean;
}

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;

export function readZipEntries(buf: Buffer, label = "archive"): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd === -1) throw new Error(`${label} is not a zip archive`);
  let count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if (offset === 0xffffffff || count === 0xffff) {
    const locator = eocd - 20;
    if (locator < 0 || buf.readUInt32LE(locator) !== 0x07064b50) throw new Error(`${label}: broken ZIP64 archive`);
    const z64 = Number(buf.readBigUInt64LE(locator + 8));
    count = Number(buf.readBigUInt64LE(z64 + 32));
    offset = Number(buf.readBigUInt64LE(z64 + 48));
  }
  const entries: ZipEntry[] = [];
  let p = offset;
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== CDH_SIG) throw new Error(`${label}: corrupt central directory`);
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localHeaderOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
    // ZIP64 extra field: the 0xffffffff fields, in order, as 8-byte values.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = Number(buf.readBigUInt64LE(q));
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(buf.readBigUInt64LE(q));
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(buf.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, localHeaderOffset, isDirectory: name.endsWith("/") });
    p = end + commentLen;
  }
  return entries;
}

export function entryData(buf: Buffer, entry: ZipEntry, label = "archive"): Buffer {
  const h = entry.localHeaderOffset;
  if (buf.readUInt32LE(h) !== LFH_SIG) throw new Error(`${label}: corrupt entry ${entry.name}`);
  const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  const raw = buf.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(raw);
  if (entry.method === 8) return inflateRawSync(raw);
  throw new Error(`${label}: entry ${entry.name} uses unsupported compression method ${entry.method}`);
}

function isIgnored(name: string): boolean {
  return name.split("/")[0] === "__MACOSX";
}

/**
 * The single top-level entry of the archive (ignoring `__MACOSX`): a folder, or — as the original
 * accepted — a file; a clear error when there are several or none.
 */
export function topLevelFolder(entries: readonly ZipEntry[], label = "archive"): string {
  const kept = entries.filter((e) => !isIgnored(e.name));
  const tops = new Set(kept.map((e) => e.name.split("/")[0]));
  if (tops.size !== 1) {
    const listed = [...tops].slice(0, 5).join(", ") || "nothing";
    throw new Error(`${label} must contain exactly one top-level folder; found ${tops.size} top-level entries (${listed})`);
  }
  return [...tops][0];
}

/** Extract the archive's single top-level folder (or file) into `outDir` (default: the archive's folder); returns its name. */
export function parseZip(zipPath: string, outDir?: string): string {
  if (!fs.existsSync(zipPath)) throw new Error(`${zipPath} does not exist`);
  const buf = fs.readFileSync(zipPath);
  const entries = readZipEntries(buf, zipPath);
  const top = topLevelFolder(entries, zipPath);
  const dest = path.resolve(outDir ?? path.dirname(path.resolve(zipPath)));
  if (!fs.existsSync(dest) || !fs.statSync(dest).isDirectory()) throw new Error(`output folder ${dest} does not exist`);
  for (const e of entries) {
    if (isIgnored(e.name)) continue;
    const target = path.resolve(dest, e.name);
    if (target !== dest && !target.startsWith(dest + path.sep)) throw new Error(`${zipPath}: entry "${e.name}" would be written outside ${dest}`);
    if (e.isDirectory) {
      fs.mkdirSync(target, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, entryData(buf, e, zipPath));
    }
  }
  return top;
}
