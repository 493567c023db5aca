/**
 * An in-process S3-compatible server for tests and local mode: s3rver behind a small front
 * handler that adds what s3rver lacks and the protocols rely on.
 *
 * - Conditional writes: `PutObject`/`DeleteObject` with `If-None-Match: *` or `If-Match: "etag"`
 *   are checked and applied atomically per key (s3rver itself ignores these headers on PUT),
 *   answering `412 PreconditionFailed` like S3. Every object write takes the same per-key lock,
 *   so a conditional write can never interleave with another write of the same key.
 * - Fault injection (tests): `faults(request)` may answer a request with an S3 error status
 *   (e.g. 500/503) before it reaches the store.
 * - Paginated listings: s3rver encrypts continuation tokens with DES, which OpenSSL 3 (Node >= 17)
 *   refuses, so any truncated ListObjectsV2 failed with a 500; see `allowS3rverContinuationTokens`.
 * - S3 event notifications: `onEvent` receives s3rver's event records (keys are raw, not
 *   URL-encoded: use `encodeEventKey` from protocols/layout.ts before handing them to a handler).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../protocols/s3-client";

// s3rver ships no types; this is the part of its API used here.
interface S3rverInstance {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  configureBuckets(): Promise<void>;
  on(event: "event", listener: (event: LocalS3Event) => void): void;
  store: { getMetadata(bucket: string, key: string): Promise<{ etag: string }> };
  logger: { exceptions: { unhandle(): void }; close(): void };
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

/** Credentials s3rver accepts (it rejects any other access key). */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** The S3 notification shape s3rver emits (raw keys). */
export interface LocalS3Event {
  readonly Records: readonly {
    readonly eventName: string;
    readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string; readonly size?: number; readonly eTag?: string } };
  }[];
}

/** What a fault hook sees of a request. */
export interface LocalS3Request {
  readonly method: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: URLSearchParams;
}

export interface LocalS3ServerArgs {
  /** Directory holding the buckets; default: a fresh temp directory removed on close. */
  readonly directory?: string;
  /** Buckets created (if missing) before the server answers. */
  readonly buckets?: readonly string[];
  /** Port to listen on; default 0 (a random free port). */
  readonly port?: number;
  /** Interface to listen on; default 127.0.0.1. The endpoint names 127.0.0.1 for wildcard hosts. */
  readonly host?: string;
  /** Return an HTTP status (>= 400) to fail this request with an S3 error instead of serving it. */
  readonly faults?: (request: LocalS3Request) => number | undefined;
  /** Log every request and s3rver's internal errors to the console (default false). */
  readonly verbose?: boolean;
  /** Called for every object-created/removed notification. */
  readonly onEvent?: (event: LocalS3Event) => void;
}

export interface LocalS3Server {
  /** `http://127.0.0.1:{port}` (or the given host) */
  readonly endpoint: string;
  readonly directory: string;
  close(): Promise<void>;
}

/** An S3 client for a local endpoint: S3RVER credentials, path-style, checksums only when required. */
export function createLocalS3Client(endpoint: string, region = "us-east-1"): S3Client {
  return createS3Client({ endpoint, region, credentials: { ...LOCAL_S3_CREDENTIALS } });
}

export async function startLocalS3Server(args: LocalS3ServerArgs = {}): Promise<LocalS3Server> {
  const ownsDirectory = args.directory === undefined;
  const directory = args.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), "neurocaas-s3-"));
  fs.mkdirSync(directory, { recursive: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require("s3rver") as S3rverConstructor;
  const s3rver = new S3rver({
    directory,
    silent: !args.verbose,
    configureBuckets: (args.buckets ?? []).map((name) => ({ name })),
    allowMismatchedSignatures: false,
  });
  allowS3rverContinuationTokens();
  await s3rver.configureBuckets();
  if (args.onEvent) s3rver.on("event", args.onEvent);
  const serve = s3rver.callback();
  const locks = new KeyLocks();

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, "InternalError", err instanceof Error ? err.message : String(err));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const [bucket, key] = splitPath(url.pathname);
    const method = (req.method ?? "GET").toUpperCase();
    normalizeCopySource(req);
    const status = args.faults?.({ method, bucket, key, query: url.searchParams });
    if (status !== undefined) {
      drain(req);
      sendError(res, status, status === 503 ? "SlowDown" : "InternalError", "Injected fault");
      return;
    }
    const subresource = url.searchParams.has("tagging") || url.searchParams.has("acl");
    const isObjectWrite = key !== "" && (method === "PUT" || method === "DELETE") && !url.searchParams.has("uploadId") && !subresource;
    // s3rver rewrites an object's file in place: a read overlapping a write of the same key would
    // see a truncated body (or a length that disagrees with the metadata and an aborted response).
    // Reads and multipart completions therefore take the key's lock too.
    const isObjectRead = key !== "" && (method === "GET" || method === "HEAD") && !subresource;
    const isMultipartComplete = key !== "" && method === "POST" && url.searchParams.has("uploadId");
    if (!isObjectWrite && !isObjectRead && !isMultipartComplete) {
      serve(req, res);
      return;
    }
    const release = await locks.acquire(`${bucket}/${key}`);
    let released = false;
    const done = (): void => {
      if (!released) {
        released = true;
        release();
      }
    };
    res.on("finish", done);
    res.on("close", done);
    try {
      const failure = isObjectWrite ? await checkPreconditions(req, bucket, key) : undefined;
      if (failure) {
        drain(req);
        sendError(res, failure.status, failure.code, failure.message);
        return;
      }
      serve(req, res);
    } catch (err) {
      done();
      throw err;
    }
  }

  async function checkPreconditions(req: http.IncomingMessage, bucket: string, key: string): Promise<{ status: number; code: string; message: string } | undefined> {
    const ifNoneMatch = header(req, "if-none-match");
    const ifMatch = header(req, "if-match");
    if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
    const current = await s3rver.store.getMetadata(bucket, key).then(
      (m) => m.etag,
      () => undefined,
    );
    if (ifNoneMatch !== undefined && ifNoneMatch.trim() === "*" && current !== undefined) {
      return { status: 412, code: "PreconditionFailed", message: "At least one of the pre-conditions you specified did not hold" };
    }
    if (ifMatch !== undefined) {
      if (current === undefined) return { status: 404, code: "NoSuchKey", message: "The specified key does not exist." };
      if (ifMatch.trim() !== "*" && normalizeEtag(ifMatch) !== normalizeEtag(current)) {
        return { status: 412, code: "PreconditionFailed", message: "At least one of the pre-conditions you specified did not hold" };
      }
    }
    return undefined;
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(args.port ?? 0, args.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed = false;
  return {
    endpoint: `http://${endpointHost(args.host)}:${port}`,
    directory,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      s3rver.logger.exceptions.unhandle();
      s3rver.logger.close();
      if (ownsDirectory) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

function endpointHost(host: string | undefined): string {
  if (host === undefined || host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

function splitPath(pathname: string): [string, string] {
  const trimmed = pathname.replace(/^\/+/, "");
  const i = trimmed.indexOf("/");
  if (i === -1) return [decodeURIComponent(trimmed), ""];
  return [decodeURIComponent(trimmed.slice(0, i)), decodeURIComponent(trimmed.slice(i + 1))];
}

/**
 * s3rver reads `x-amz-copy-source` with `decodeURI`, which leaves reserved characters encoded
 * (`%3A` stays `%3A`), so copying `logs/DATASET_NAME:x_STATUS.txt` failed with NoSuchKey. S3
 * decodes the header fully: hand s3rver a form its `decodeURI` turns into the real key.
 */
function normalizeCopySource(req: http.IncomingMessage): void {
  const raw = header(req, "x-amz-copy-source");
  if (raw === undefined) return;
  const [source, ...query] = raw.split("?");
  let decoded: string;
  try {
    decoded = decodeURIComponent(source);
  } catch {
    return; // Malformed: let s3rver answer as it would.
  }
  req.headers["x-amz-copy-source"] = [encodeURI(decoded), ...query].join("?");
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
}

function drain(req: http.IncomingMessage): void {
  req.resume();
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** FIFO mutex per key. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}

let desPatched = false;

/**
 * s3rver builds ListObjectsV2 continuation tokens with `createCipheriv("des", 8-byte key, 8-byte
 * iv)`, which Node 17+ rejects (ERR_OSSL_EVP_UNSUPPORTED). Calls for "des" (and only those, which
 * would otherwise always throw) are served by AES-128-CBC with the key and iv doubled to 16 bytes.
 * Tokens stay opaque and round-trip through `createDecipheriv` the same way.
 */
function allowS3rverContinuationTokens(): void {
  if (desPatched) return;
  desPatched = true;
  type CipherFactory = (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, options?: unknown) => crypto.Cipher | crypto.Decipher;
  // The module object itself (an ES namespace import is a read-only view of it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mutable = require("node:crypto") as { createCipheriv: CipherFactory; createDecipheriv: CipherFactory };
  const widen = (b: unknown): Buffer => {
    const buf = Buffer.from(b as Buffer);
    return buf.length === 8 ? Buffer.concat([buf, buf]) : buf;
  };
  for (const name of ["createCipheriv", "createDecipheriv"] as const) {
    const original = mutable[name].bind(mutable);
    mutable[name] = (algorithm, key, iv, options) =>
      algorithm.toLowerCase() === "des" ? original("aes-128-cbc", widen(key), widen(iv)) : original(algorithm, key, iv, options);
  }
}
