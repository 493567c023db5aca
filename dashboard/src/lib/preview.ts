/** What the results view can show inline, by file name (pure). */

export type PreviewKind = "text" | "json" | "yaml" | "csv" | "image" | "binary";

const EXT: Record<string, PreviewKind> = {
  txt: "text",
  log: "text",
  md: "text",
  out: "text",
  err: "text",
  py: "text",
  sh: "text",
  m: "text",
  r: "text",
  ini: "text",
  cfg: "text",
  json: "json",
  yaml: "yaml",
  yml: "yaml",
  csv: "csv",
  tsv: "csv",
  png: "image",
  jpg: "image",
  jpeg: "image",
  gif: "image",
  svg: "image",
  webp: "image",
};

export const IMAGE_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
  webp: "image/webp",
};

/** Inline previews stop at this size (download the rest). */
export const PREVIEW_LIMIT = 2 * 1024 * 1024;

export function extensionOf(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot + 1).toLowerCase();
}

export function previewKind(key: string): PreviewKind {
  const name = key.slice(key.lastIndexOf("/") + 1);
  // Dataset status files are JSON despite `.txt` (SPEC 4.3).
  if (/^DATASET_NAME:.*_STATUS\.txt$/.test(name)) return "json";
  return EXT[extensionOf(key)] ?? "binary";
}

/** Rows of a CSV/TSV text (quoted fields, doubled quotes, CRLF); at most `maxRows`. */
export function parseDelimited(text: string, delimiter = ",", maxRows = 500): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < maxRows; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === delimiter) {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if ((field !== "" || row.length > 0) && rows.length < maxRows) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
