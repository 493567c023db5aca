/**
 * Reading the PCA input matrix: CSV (one sample per row, optional header row) or NumPy `.npy`.
 * Errors name the file, line and column so users can fix their data.
 */

export interface Matrix {
  /** rows[i][j]: sample i, feature j. */
  readonly rows: number[][];
  /** Column names from a CSV header, when there is one. */
  readonly featureNames?: string[];
}

function splitCells(line: string, delimiter: string | RegExp): string[] {
  return line.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
}

function detectDelimiter(line: string): string | RegExp {
  if (line.includes(",")) return ",";
  if (line.includes("\t")) return "\t";
  if (line.includes(";")) return ";";
  return /\s+/;
}

function parseNumber(cell: string): number | undefined {
  if (cell === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell)) return undefined;
  return Number(cell);
}

export function parseCsvMatrix(text: string, label = "data file"): Matrix {
  const lines = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .map((l, i) => ({ text: l.trim(), lineNo: i + 1 }))
    .filter((l) => l.text !== "" && !l.text.startsWith("#"));
  if (lines.length === 0) throw new Error(`${label} is empty: expected one sample per row`);
  const delimiter = detectDelimiter(lines[0].text);
  let featureNames: string[] | undefined;
  let body = lines;
  const first = splitCells(lines[0].text, delimiter);
  if (first.some((c) => parseNumber(c) === undefined)) {
    featureNames = first;
    body = lines.slice(1);
  }
  const width = featureNames?.length ?? first.length;
  const rows: number[][] = [];
  for (const { text: line, lineNo } of body) {
    const cells = splitCells(line, delimiter);
    if (cells.length !== width) {
      throw new Error(
        `${label} line ${lineNo}: expected ${width} columns (as on line ${lines[0].lineNo}), found ${cells.length}`,
      );
    }
    rows.push(
      cells.map((c, j) => {
        const v = parseNumber(c);
        if (v === undefined || !Number.isFinite(v))
          throw new Error(`${label} line ${lineNo}, column ${j + 1}: "${c}" is not a number`);
        return v;
      }),
    );
  }
  if (rows.length === 0) throw new Error(`${label} has a header but no data rows`);
  return { rows, featureNames };
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

type Reader = (buf: Buffer, offset: number) => number;

function npyReader(descr: string, label: string): { size: number; read: Reader } {
  const m = /^([<>|=])([fiu])(\d+)$/.exec(descr);
  if (!m) throw new Error(`${label}: unsupported .npy dtype "${descr}" (expected a numeric dtype such as <f8)`);
  const [, order, kind, bytes] = m;
  const le = order !== ">";
  const size = Number(bytes);
  const table: Record<string, Reader | undefined> = {
    f4: (b, o) => (le ? b.readFloatLE(o) : b.readFloatBE(o)),
    f8: (b, o) => (le ? b.readDoubleLE(o) : b.readDoubleBE(o)),
    i1: (b, o) => b.readInt8(o),
    u1: (b, o) => b.readUInt8(o),
    i2: (b, o) => (le ? b.readInt16LE(o) : b.readInt16BE(o)),
    u2: (b, o) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o)),
    i4: (b, o) => (le ? b.readInt32LE(o) : b.readInt32BE(o)),
    u4: (b, o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o)),
    i8: (b, o) => Number(le ? b.readBigInt64LE(o) : b.readBigInt64BE(o)),
    u8: (b, o) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)),
  };
  const read = table[`${kind}${bytes}`];
  if (!read) throw new Error(`${label}: unsupported .npy dtype "${descr}"`);
  return { size, read };
}

/** A 2-D numeric `.npy` array (C or Fortran order, any endianness). */
export function parseNpy(buf: Buffer, label = "data file"): Matrix {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC))
    throw new Error(`${label} is not a .npy file (bad magic bytes)`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = buf.toString("latin1", headerStart, headerStart + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new Error(`${label}: unreadable .npy header`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.length !== 2)
    throw new Error(`${label}: expected a 2-D array (samples × features), found shape (${shape.join(", ")})`);
  const [n, p] = shape;
  const { size, read } = npyReader(descr, label);
  const dataStart = headerStart + headerLen;
  if (buf.length < dataStart + n * p * size) throw new Error(`${label}: file is truncated (expected ${n}×${p} values)`);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < p; j++) {
      const idx = fortran ? j * n + i : i * p + j;
      const v = read(buf, dataStart + idx * size);
      if (!Number.isFinite(v)) throw new Error(`${label}: value at row ${i + 1}, column ${j + 1} is not finite`);
      row.push(v);
    }
    rows.push(row);
  }
  return { rows };
}

/** Write a little-endian float64 C-order `.npy` (used to make example and test data). */
export function toNpy(rows: readonly (readonly number[])[]): Buffer {
  const n = rows.length;
  const p = n ? rows[0].length : 0;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${n}, ${p}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const pre = Buffer.alloc(10);
  NPY_MAGIC.copy(pre);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(n * p * 8);
  rows.forEach((r, i) => r.forEach((v, j) => data.writeDoubleLE(v, (i * p + j) * 8)));
  return Buffer.concat([pre, Buffer.from(header, "latin1"), data]);
}
