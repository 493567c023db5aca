/**
 * ListObjects (V1) and ListObjectsV2 answered from s3rver's files, exactly as S3 answers them.
 * s3rver reports a common prefix only when an object sits directly in it (so `aws s3 ls
 * s3://bucket/` listed nothing) and pages common prefixes wrongly. Here:
 * - keys come out in UTF-8 byte order, walked lazily from the prefix's folder (a folder whose
 *   keys all lie before the start point, or inside a common prefix already returned, is skipped);
 * - with a delimiter, every key whose remainder after the prefix contains it rolls up into one
 *   common prefix; keys and common prefixes together count against MaxKeys (at most 1000);
 * - V2 continuation tokens are opaque and resume after the last key or common prefix returned;
 *   StartAfter (V2) and Marker (V1) resume after a key (or after a common prefix equal to it);
 *   V1 returns NextMarker when truncated with a delimiter; EncodingType=url encodes keys and
 *   prefixes in the response.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { s3Failure, xmlEscape, type S3Failure } from "./s3-errors";
import type { Query } from "./s3-operations";

/** s3rver's file for key K: `K._S3rver_object`. */
const OBJECT_SUFFIX = "._S3rver_object";
const STORE_MARKER = "._S3rver_";
const MAX_LIST_KEYS = 1000;

export interface ListParams {
  readonly version: 1 | 2;
  readonly prefix: string;
  /** "" when none. */
  readonly delimiter: string;
  readonly maxKeys: number;
  /** Resume after this key or common prefix. */
  readonly after?: string;
  readonly startAfter?: string;
  readonly continuationToken?: string;
  readonly marker?: string;
  readonly encodeUrl: boolean;
  readonly fetchOwner: boolean;
}

export interface ObjectInfo {
  readonly etag: string;
  readonly size: number;
  readonly lastModified: Date;
}

function first(query: Query, name: string): string | undefined {
  const v = query[name];
  return v === undefined ? undefined : typeof v === "string" ? v : v[0];
}

function has(query: Query, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(query, name);
}

/** UTF-8 byte order (S3's key order); differs from JS string order above U+FFFF. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function encodeToken(bucket: string, entry: string): string {
  return Buffer.from(JSON.stringify([bucket, entry]), "utf8").toString("base64");
}

export function decodeToken(bucket: string, token: string): string | undefined {
  try {
    const value = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as unknown;
    if (Array.isArray(value) && value.length === 2 && value[0] === bucket && typeof value[1] === "string")
      return value[1];
  } catch {
    // fall through
  }
  return undefined;
}

/** The listing parameters of a GET Bucket request, validated as S3 does. */
export function parseListParams(bucket: string, query: Query): ListParams | S3Failure {
  const invalid = (name: string, message: string) => s3Failure(400, "InvalidArgument", `${message} (${name})`);
  const version = first(query, "list-type") === "2" ? 2 : 1;
  let maxKeys = MAX_LIST_KEYS;
  const maxText = first(query, "max-keys");
  if (maxText !== undefined) {
    if (!/^\d+$/.test(maxText) || Number(maxText) > 2147483647)
      return invalid("max-keys", "Provided max-keys not an integer or within integer range");
    maxKeys = Math.min(MAX_LIST_KEYS, Number(maxText));
  }
  const encoding = first(query, "encoding-type");
  if (encoding !== undefined && encoding !== "url")
    return invalid("encoding-type", "Invalid Encoding Method specified in Request");
  const prefix = first(query, "prefix") ?? "";
  const delimiter = first(query, "delimiter") ?? "";
  const common = { prefix, delimiter, maxKeys, encodeUrl: encoding === "url" };
  if (version === 2) {
    if (has(query, "marker")) return invalid("marker", "Marker unsupported with REST.GET.BUCKET in list-type=2");
    const token = first(query, "continuation-token");
    const startAfter = first(query, "start-after");
    if (token !== undefined) {
      const after = decodeToken(bucket, token);
      if (after === undefined) return invalid("continuation-token", "The continuation token provided is incorrect");
      return {
        version,
        ...common,
        after,
        continuationToken: token,
        ...(startAfter !== undefined ? { startAfter } : {}),
        fetchOwner: first(query, "fetch-owner") === "true",
      };
    }
    return {
      version,
      ...common,
      ...(startAfter ? { after: startAfter, startAfter } : startAfter !== undefined ? { startAfter } : {}),
      fetchOwner: first(query, "fetch-owner") === "true",
    };
  }
  if (has(query, "continuation-token"))
    return invalid("continuation-token", "continuation-token only supported in REST.GET.BUCKET with list-type=2");
  if (has(query, "start-after"))
    return invalid("start-after", "startAfter only supported in REST.GET.BUCKET with list-type=2");
  const marker = first(query, "marker");
  return {
    version,
    ...common,
    ...(marker ? { after: marker } : {}),
    ...(marker !== undefined ? { marker } : {}),
    fetchOwner: true,
  };
}

/** A folder segment that s3rver could have created for a stored key. */
function storableFolder(segment: string): boolean {
  return (
    segment !== "" &&
    segment !== "." &&
    segment !== ".." &&
    !segment.includes("\\") &&
    !segment.includes("\0") &&
    !segment.includes(STORE_MARKER)
  );
}

/**
 * Keys of a bucket directory in S3 order, below `prefix`. `skip(folderKeyPrefix)` is asked
 * before entering each folder (the caller's state may change between keys).
 */
async function* walkKeys(
  bucketDir: string,
  prefix: string,
  after: string | undefined,
  skip: (folder: string) => boolean,
): AsyncGenerator<string> {
  const folders = prefix.split("/").slice(0, -1);
  if (!folders.every(storableFolder)) return;
  const start = folders.length === 0 ? "" : `${folders.join("/")}/`;
  yield* walkFolder(path.join(bucketDir, ...folders), start, prefix, after, skip);
}

async function* walkFolder(
  dir: string,
  keyPrefix: string,
  prefix: string,
  after: string | undefined,
  skip: (folder: string) => boolean,
): AsyncGenerator<string> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw err;
  }
  const items: { sortKey: string; folder: boolean; name: string }[] = [];
  for (const e of entries) {
    if (e.isDirectory()) {
      if (!e.name.includes(STORE_MARKER)) items.push({ sortKey: `${keyPrefix}${e.name}/`, folder: true, name: e.name });
    } else if (e.name.endsWith(OBJECT_SUFFIX)) {
      items.push({ sortKey: `${keyPrefix}${e.name.slice(0, -OBJECT_SUFFIX.length)}`, folder: false, name: e.name });
    }
  }
  // A folder's keys all start with "name/", so ordering entries by that string orders every key.
  items.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
  for (const item of items) {
    const k = item.sortKey;
    if (!(k.startsWith(prefix) || prefix.startsWith(k))) continue;
    if (!item.folder) {
      yield k;
      continue;
    }
    // Every key of this folder lies at or before `after`: nothing to list in it.
    if (after !== undefined && compareKeys(k, after) < 0 && !after.startsWith(k)) continue;
    if (skip(k)) continue;
    yield* walkFolder(path.join(dir, item.name), k, prefix, after, skip);
  }
}

interface Listing {
  readonly keys: readonly string[];
  readonly commonPrefixes: readonly string[];
  readonly truncated: boolean;
  /** Last key or common prefix returned. */
  readonly last?: string;
}

/** The keys and common prefixes of one page. */
async function listPage(bucketDir: string, params: ListParams): Promise<Listing> {
  const keys: string[] = [];
  const commonPrefixes: string[] = [];
  let lastPrefix: string | undefined;
  let last: string | undefined;
  let truncated = false;
  const { prefix, delimiter, after } = params;
  const rolledUp = (k: string): string | undefined => {
    if (delimiter === "") return undefined;
    const i = k.indexOf(delimiter, prefix.length);
    return i === -1 ? undefined : k.slice(0, i + delimiter.length);
  };
  // A common prefix already returned (or the one the page resumes after) holds nothing more to list.
  const skip = (folder: string) =>
    (lastPrefix !== undefined && folder.startsWith(lastPrefix)) ||
    (after !== undefined && after === rolledUp(after) && folder.startsWith(after));
  if (params.maxKeys === 0) return { keys, commonPrefixes, truncated: false };
  for await (const key of walkKeys(bucketDir, prefix, after, skip)) {
    if (!key.startsWith(prefix)) continue;
    if (after !== undefined && compareKeys(key, after) <= 0) continue;
    const common = rolledUp(key);
    if (common !== undefined && (common === lastPrefix || common === after)) continue;
    if (keys.length + commonPrefixes.length === params.maxKeys) {
      truncated = true;
      break;
    }
    if (common !== undefined) {
      commonPrefixes.push(common);
      lastPrefix = common;
      last = common;
    } else {
      keys.push(key);
      last = key;
    }
  }
  return { keys, commonPrefixes, truncated, ...(last !== undefined ? { last } : {}) };
}

const OWNER = "<Owner><ID>local</ID><DisplayName>neurocaas-local</DisplayName></Owner>";

/** The ListBucketResult document of one page. `info` gives an object's metadata (undefined: gone meanwhile). */
export async function listBucketXml(
  bucketDir: string,
  bucket: string,
  params: ListParams,
  info: (key: string) => Promise<ObjectInfo | undefined>,
): Promise<string> {
  const page = await listPage(bucketDir, params);
  const enc = (s: string) => xmlEscape(params.encodeUrl ? encodeURIComponent(s) : s);
  const el = (name: string, value: string | number | boolean) =>
    `<${name}>${typeof value === "string" ? value : String(value)}</${name}>`;
  const parts: string[] = [el("Name", xmlEscape(bucket)), el("Prefix", enc(params.prefix))];
  if (params.version === 2) {
    if (params.startAfter !== undefined) parts.push(el("StartAfter", enc(params.startAfter)));
    if (params.continuationToken !== undefined)
      parts.push(el("ContinuationToken", xmlEscape(params.continuationToken)));
    if (page.truncated && page.last !== undefined)
      parts.push(el("NextContinuationToken", xmlEscape(encodeToken(bucket, page.last))));
    parts.push(el("KeyCount", page.keys.length + page.commonPrefixes.length));
  } else {
    parts.push(el("Marker", enc(params.marker ?? "")));
    if (page.truncated && params.delimiter !== "" && page.last !== undefined)
      parts.push(el("NextMarker", enc(page.last)));
  }
  parts.push(el("MaxKeys", params.maxKeys));
  if (params.delimiter !== "") parts.push(el("Delimiter", enc(params.delimiter)));
  parts.push(el("IsTruncated", page.truncated));
  if (params.encodeUrl) parts.push(el("EncodingType", "url"));
  const infos = await Promise.all(page.keys.map(info));
  page.keys.forEach((key, i) => {
    const o = infos[i];
    if (o === undefined) return;
    parts.push(
      `<Contents>${el("Key", enc(key))}${el("LastModified", o.lastModified.toISOString())}${el("ETag", xmlEscape(o.etag))}${el("Size", o.size)}` +
        `${params.fetchOwner ? OWNER : ""}${el("StorageClass", "STANDARD")}</Contents>`,
    );
  });
  for (const p of page.commonPrefixes) parts.push(`<CommonPrefixes>${el("Prefix", enc(p))}</CommonPrefixes>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join("")}</ListBucketResult>`;
}
