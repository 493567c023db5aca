import * as fs from "node:fs";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32 } from "node:zlib";
import * as yauzl from "yauzl";

/**
 * `scripting parse-zip`: the archive must hold exactly one top-level entry (ignoring
 * `__MACOSX`), usually a folder, which is extracted. Read with yauzl: streamed (archives of any
 * size, ZIP64), entry sizes checked; each extracted file's CRC-32 is checked as it is written.
 */

function isIgnored(name: string): boolean {
  return name.split("/")[0] === "__MACOSX";
}

/**
 * The single top-level entry among the archive's entry names (ignoring `__MACOSX`): a folder, or
 * — as the original accepted — a file; a clear error when there are several or none.
 */
export function topLevelFolder(names: readonly string[], label = "archive"): string {
  const tops = new Set(names.filter((n) => !isIgnored(n)).map((n) => n.split("/")[0]));
  if (tops.size !== 1) {
    const listed = [...tops].slice(0, 5).join(", ") || "nothing";
    throw new Error(
      `${label} must contain exactly one top-level folder; found ${tops.size} top-level entries (${listed})`,
    );
  }
  return [...tops][0];
}

/** Extract the archive's single top-level folder (or file) into `outDir` (default: the archive's folder); returns its name. */
export async function parseZip(zipPath: string, outDir?: string): Promise<string> {
  if (!fs.existsSync(zipPath)) throw new Error(`${zipPath} does not exist`);
  const dest = path.resolve(outDir ?? path.dirname(path.resolve(zipPath)));
  if (!fs.existsSync(dest) || !fs.statSync(dest).isDirectory()) throw new Error(`output folder ${dest} does not exist`);
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false });
  } catch (err) {
    throw new Error(`${zipPath} is not a zip archive (${(err as Error).message})`, { cause: err });
  }
  try {
    const entries = await readEntries(zip, zipPath, dest);
    const top = topLevelFolder(
      entries.map((e) => e.fileName),
      zipPath,
    );
    for (const entry of entries) {
      if (isIgnored(entry.fileName)) continue;
      const target = path.resolve(dest, entry.fileName);
      if (target !== dest && !target.startsWith(dest + path.sep)) throw outside(zipPath, entry.fileName, dest);
      if (entry.fileName.endsWith("/")) {
        fs.mkdirSync(target, { recursive: true });
        continue;
      }
      fs.mkdirSync(path.dirname(target), { recursive: true });
      await extract(zip, entry, target, zipPath);
    }
    return top;
  } finally {
    zip.close();
  }
}

/** Every entry of the central directory (yauzl refuses absolute and `..` names: reported as escapes). */
function readEntries(zip: yauzl.ZipFile, zipPath: string, dest: string): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on("entry", (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on("end", () => resolve(entries));
    zip.on("error", (err: Error) => {
      const escape = /^(?:absolute path|invalid relative path): (.*)$/.exec(err.message);
      reject(escape ? outside(zipPath, escape[1], dest) : new Error(`${zipPath}: ${err.message}`, { cause: err }));
    });
    zip.readEntry();
  });
}

/** Write one entry to `target`, checking its CRC-32; a corrupt entry leaves no file behind. */
async function extract(zip: yauzl.ZipFile, entry: yauzl.Entry, target: string, zipPath: string): Promise<void> {
  let crc = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
    flush(done) {
      done(
        crc >>> 0 === entry.crc32 >>> 0
          ? null
          : new Error(
              `${zipPath}: entry ${entry.fileName} is corrupt (CRC-32 ${(crc >>> 0).toString(16)}, the archive says ${(entry.crc32 >>> 0).toString(16)})`,
            ),
      );
    },
  });
  try {
    await pipeline(await zip.openReadStreamPromise(entry), check, fs.createWriteStream(target));
  } catch (err) {
    fs.rmSync(target, { force: true });
    throw err instanceof Error && err.message.startsWith(zipPath)
      ? err
      : new Error(`${zipPath}: entry ${entry.fileName}: ${(err as Error).message}`, { cause: err });
  }
}

function outside(zipPath: string, name: string, dest: string): Error {
  return new Error(`${zipPath}: entry "${name}" would be written outside ${dest}`);
}
