/**
 * An in-process S3-compatible server for tests and local mode: s3rver behind a front handler that
 * adds what s3rver lacks and the protocols and users rely on.
 *
 * - Authentication: every request must carry a valid AWS Signature V4 (header, presigned URL,
 *   signed streaming chunks) made with a key the server knows (`keys`); s3rver itself never
 *   checks signatures. A bare server (tests, tools) generates one unrestricted key.
 * - Authorization: each request is mapped to the IAM actions AWS would check (s3-operations.ts)
 *   and evaluated against the caller's identity policies (principals.ts, iam-eval.ts).
 * - Browsers: cross-origin requests are refused unless their origin is allowed; HTML form
 *   uploads (POST Object) are refused (browser-guard.ts).
 * - Keys: bucket names and object keys that could leave the bucket directory or exceed file-name
 *   limits get a clean 400 (object-keys.ts); s3rver's writes no longer crash the process on a
 *   file-system error (s3rver-store.ts).
 * - Listings: ListObjects/ListObjectsV2 answered as S3 does, every common prefix included
 *   (listing.ts); DeleteObjects checked and answered per key (multi-delete.ts).
 * - Bodies: signed payloads are verified before the store sees them; aws-chunked bodies are
 *   decoded (s3rver stored them framing and all).
 * - Conditional writes: `PutObject`/`DeleteObject` with `If-None-Match: *` or `If-Match: "etag"`
 *   are checked and applied atomically per key (s3rver itself ignores these headers on PUT),
 *   answering `412 PreconditionFailed` like S3. Every object write takes the same per-key lock,
 *   so a conditional write can never interleave with another write of the same key.
 * - Fault injection (tests): `faults(request)` may answer an authenticated request with an S3
 *   error status (e.g. 500/503) before it reaches the store.
 * - S3 event notifications: `onEvent` receives s3rver's event records (keys are raw, not
 *   URL-encoded: use `encodeEventKey` from model/layout.ts before handing them to a handler).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../protocols/s3-client";
import { AwsChunkedDecoder, S3BodyError } from "./aws-chunked";
import { BodySpool } from "./body-spool";
import { checkBrowserRequest, corsHeaders, preflightHeaders } from "./browser-guard";
import { KeyRing, newCredentials, type Credentials, type KeyLookup } from "./keys";
import { listBucketXml, parseListParams } from "./listing";
import { deleteResultXml, parseDeleteRequest, type KeyError } from "./multi-delete";
import { bucketNameProblem, objectKeyProblem } from "./object-keys";
import { accessDeniedMessage, firstDenied, type Principal } from "./principals";
import { injectedFault, s3Failure, sendS3Error, type S3Failure } from "./s3-errors";
import { classifyRequest, type Query, type S3Operation } from "./s3-operations";
import { preconditionFailure } from "./preconditions";
import { hardenStore, type S3rverStore } from "./s3rver-store";
import { authenticate, EMPTY_SHA256, type Authenticated } from "./sigv4";

// s3rver ships no types; this is the part of its API used here.
interface S3rverInstance {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  configureBuckets(): Promise<void>;
  on(event: "event", listener: (event: LocalS3Event) => void): void;
  store: S3rverStore;
  logger: { exceptions: { unhandle(): void }; close(): void };
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

/** The S3 notification shape s3rver emits (raw keys). */
export interface LocalS3Event {
  readonly Records: readonly {
    readonly eventName: string;
    readonly s3: {
      readonly bucket: { readonly name: string };
      readonly object: { readonly key: string; readonly size?: number; readonly eTag?: string };
    };
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
  /**
   * The endpoint's unrestricted key (exposed as `credentials`); default: generated. With `keys`
   * it must be one of them (local mode: the admin key).
   */
  readonly credentials?: Credentials;
  /** Every accepted access key and its principal; default: only `credentials`. */
  readonly keys?: KeyLookup;
  /** Region of a bucket (the partition of its ARNs); default us-east-1. */
  readonly regionOf?: (bucket: string) => string | undefined;
  /** Browser origins allowed to call the endpoint besides its own (e.g. `http://localhost:3000`). */
  readonly allowedOrigins?: readonly string[];
  /** Return an HTTP status (>= 400) to fail this request with an S3 error instead of serving it. */
  readonly faults?: (request: LocalS3Request) => number | undefined;
  /** Log every request and s3rver's internal errors to the console (default false). */
  readonly verbose?: boolean;
  /** Called for every object-created/removed notification. */
  readonly onEvent?: (event: LocalS3Event) => void;
  /**
   * Pages served beside S3 on the same origin (the web dashboard under `/_dashboard/`): asked
   * first about requests whose path starts with `/_` (no bucket name does); true when answered.
   */
  readonly site?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
}

export interface LocalS3Server {
  /** `http://127.0.0.1:{port}` (or the given host) */
  readonly endpoint: string;
  readonly directory: string;
  /** The unrestricted key of this endpoint (see `LocalS3ServerArgs.credentials`). */
  readonly credentials: Credentials;
  close(): Promise<void>;
}

/** Where a local endpoint is and which key to sign with. */
export interface LocalEndpoint {
  readonly endpoint: string;
  readonly credentials: Credentials;
}

/** An S3 client for a local endpoint: its credentials, path-style, checksums only when required. */
export function createLocalS3Client(target: LocalEndpoint, region = "us-east-1"): S3Client {
  return createS3Client({ endpoint: target.endpoint, region, credentials: { ...target.credentials } });
}

/** A request target split as S3 reads it: raw path and query, decoded bucket and key. */
interface Target {
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: Record<string, string | string[]>;
}

/**
 * Split the request target without URL normalisation: WHATWG URL parsing would turn
 * `/b/%2E%2E/x` into `/x`, while s3rver (and S3) take the segment literally.
 */
function parseTarget(url: string): Target | S3Failure {
  const q = url.indexOf("?");
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? "" : url.slice(q + 1);
  const invalid = s3Failure(400, "InvalidURI", "Couldn't parse the specified URI.");
  if (!rawPath.startsWith("/") || rawPath.includes("#")) return invalid;
  const query: Record<string, string | string[]> = {};
  try {
    for (const part of rawQuery.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const name = decodeURIComponent(eq === -1 ? part : part.slice(0, eq));
      const value = eq === -1 ? "" : decodeURIComponent(part.slice(eq + 1));
      const prev = query[name];
      query[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
    const trimmed = rawPath.slice(1);
    const slash = trimmed.indexOf("/");
    const bucket = decodeURIComponent(slash === -1 ? trimmed : trimmed.slice(0, slash));
    const key = slash === -1 ? "" : decodeURIComponent(trimmed.slice(slash + 1));
    return { rawPath, rawQuery, bucket, key, query };
  } catch {
    return invalid;
  }
}

/** Header values as signing sees them: lower-case names, repeated headers joined with ",". */
function flatHeaders(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct))
    if (values !== undefined) out[name] = values.join(",");
  return out;
}

function has(query: Query, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(query, name);
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;

/** Headers that describe the signed/encoded body the client sent, not the object. */
const TRANSPORT_HEADERS = [
  "authorization",
  "x-amz-security-token",
  "x-amz-decoded-content-length",
  "x-amz-trailer",
  "transfer-encoding",
];

export async function startLocalS3Server(args: LocalS3ServerArgs = {}): Promise<LocalS3Server> {
  const ownsDirectory = args.directory === undefined;
  const directory = args.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), "neurocaas-s3-"));
  fs.mkdirSync(directory, { recursive: true });
  if (args.keys !== undefined && args.credentials === undefined)
    throw new Error("startLocalS3Server: with `keys`, give `credentials` (the endpoint's unrestricted key)");
  const credentials = args.credentials ?? newCredentials();
  const keys = args.keys ?? KeyRing.single(credentials);
  const own = keys.lookup(credentials.accessKeyId);
  if (
    own === undefined ||
    own.secretAccessKey !== credentials.secretAccessKey ||
    own.principal.policies !== undefined
  ) {
    throw new Error("startLocalS3Server: `credentials` must be an unrestricted key of `keys`");
  }
  const regionOf = args.regionOf ?? (() => undefined);
  const allowedOrigins = args.allowedOrigins ?? [];
  // Bodies wait here until verified (never inside the data directory).
  const spoolDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "neurocaas-s3-spool-"));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require("s3rver") as S3rverConstructor;
  const s3rver = new S3rver({
    directory,
    silent: !args.verbose,
    configureBuckets: (args.buckets ?? []).map((name) => ({ name })),
    allowMismatchedSignatures: false,
  });
  hardenStore(s3rver.store);
  await s3rver.configureBuckets();
  if (args.onEvent) s3rver.on("event", args.onEvent);
  const serve = s3rver.callback();
  const locks = new KeyLocks();
  let port = 0;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const failure =
        err instanceof S3BodyError
          ? err.failure
          : s3Failure(500, "InternalError", err instanceof Error ? err.message : String(err));
      sendS3Error(req, res, failure);
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (args.site && req.url?.startsWith("/_") && (await args.site(req, res))) return;
    res.setHeader("x-amz-request-id", crypto.randomBytes(8).toString("hex").toUpperCase());
    const method = (req.method ?? "GET").toUpperCase();
    const headers = flatHeaders(req);
    const fail = (failure: S3Failure) => sendS3Error(req, res, failure);

    const browser = checkBrowserRequest(headers, allowedOrigins);
    if (browser.failure) return fail(browser.failure);
    if (browser.corsOrigin !== undefined)
      for (const [k, v] of Object.entries(corsHeaders(browser.corsOrigin))) res.setHeader(k, v);
    if (method === "OPTIONS") {
      if (browser.corsOrigin === undefined)
        return fail(
          s3Failure(
            403,
            "CORSResponse",
            "This CORS request is not allowed: send an Origin the endpoint allows (`neurocaas local --allow-origin`).",
          ),
        );
      res.writeHead(200, preflightHeaders(browser.corsOrigin, headers["access-control-request-headers"]));
      res.end();
      return;
    }

    const target = parseTarget(req.url ?? "/");
    if ("code" in target) return fail(target);
    const { bucket, key, query } = target;
    if (method === "POST" && bucket !== "" && key === "" && !has(query, "delete")) {
      return fail(
        s3Failure(
          403,
          "AccessDenied",
          "Browser form uploads (POST Object) are refused by the local endpoint: upload with PUT, signed with your key.",
        ),
      );
    }

    const auth = await authenticate(
      { method, host: headers.host ?? "", rawPath: target.rawPath, query, headers },
      keys,
    );
    if ("code" in auth) return fail(auth);
    const principal = auth.principal;

    if (bucket !== "") {
      const problem = bucketNameProblem(bucket);
      if (problem) return fail(problem);
    }
    if (key !== "") {
      const problem = objectKeyProblem(key);
      if (problem) return fail(problem);
    }
    const op = classifyRequest(method, bucket, key, query, headers);
    if (op === undefined) {
      if (principal.policies !== undefined) {
        return fail(
          s3Failure(
            403,
            "AccessDenied",
            `User: ${principal.arn} is not authorized to perform this request (${method} ${target.rawPath}${target.rawQuery ? `?${target.rawQuery}` : ""}): the local endpoint serves only the S3 operations NeuroCAAS uses`,
          ),
        );
      }
    } else {
      if (op.copySource !== undefined) {
        const problem =
          op.copySource.bucket === ""
            ? s3Failure(
                400,
                "InvalidArgument",
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
              )
            : (bucketNameProblem(op.copySource.bucket) ?? objectKeyProblem(op.copySource.key));
        if (problem) return fail(problem);
      }
      const denied = firstDenied(principal, op.checks, regionOf);
      if (denied) return fail(s3Failure(403, "AccessDenied", accessDeniedMessage(principal, denied)));
    }

    const status = args.faults?.({ method, bucket, key, query: new URLSearchParams(target.rawQuery) });
    if (status !== undefined) return fail(injectedFault(status));

    if (has(query, "uploadId") && key !== "") {
      const problem = await uploadProblem(bucket, key, query);
      if (problem) return fail(problem);
      // s3rver has no AbortMultipartUpload (405): drop the upload's parts as S3 does.
      if (op?.name === "AbortMultipartUpload") {
        await fs.promises.rm(
          path.join(s3rver.store.getResourcePath(bucket, undefined, "uploads"), query.uploadId as string),
          { recursive: true, force: true },
        );
        req.resume();
        res.writeHead(204);
        res.end();
        return;
      }
    }
    if (op?.name === "ListObjects" || op?.name === "ListObjectsV2") return list(req, res, bucket, query);
    if (op?.name === "DeleteObjects") return deleteObjects(req, res, auth, principal, bucket);

    const spool = await receiveBody(req, auth, headers);
    try {
      await forward(req, res, auth, target, op, method, spool);
    } catch (err) {
      await spool?.spool.dispose();
      throw err;
    }
  }

  /** UploadPart/Complete/ListParts must name an upload of this key (s3rver joins the id into a path). */
  async function uploadProblem(bucket: string, key: string, query: Query): Promise<S3Failure | undefined> {
    const uploadId = query.uploadId;
    const noSuch = s3Failure(
      404,
      "NoSuchUpload",
      "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    );
    if (typeof uploadId !== "string" || !UPLOAD_ID.test(uploadId)) return noSuch;
    const stored = await fs.promises
      .readFile(path.join(s3rver.store.getResourcePath(bucket, undefined, "uploads"), uploadId, "key"), "utf8")
      .catch(() => undefined);
    if (stored !== key) return noSuch;
    const part = query.partNumber;
    if (
      part !== undefined &&
      (typeof part !== "string" || !/^\d{1,5}$/.test(part) || Number(part) < 1 || Number(part) > 10000)
    ) {
      return s3Failure(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
    }
    return undefined;
  }

  async function list(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    bucket: string,
    query: Query,
  ): Promise<void> {
    const params = parseListParams(bucket, query);
    if ("code" in params) return sendS3Error(req, res, params);
    if (!(await s3rver.store.getBucket(bucket)))
      return sendS3Error(req, res, s3Failure(404, "NoSuchBucket", `The specified bucket does not exist: ${bucket}`));
    const xml = await listBucketXml(path.join(directory, bucket), bucket, params, async (k) => {
      const m = await s3rver.store.getMetadata(bucket, k).catch(() => undefined);
      return m === undefined
        ? undefined
        : { etag: m.etag, size: Number(m["content-length"]), lastModified: new Date(m["last-modified"]) };
    });
    req.resume();
    res.writeHead(200, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(xml) });
    res.end(xml);
  }

  async function deleteObjects(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    auth: Authenticated,
    principal: Principal,
    bucket: string,
  ): Promise<void> {
    if (!(await s3rver.store.getBucket(bucket)))
      return sendS3Error(req, res, s3Failure(404, "NoSuchBucket", `The specified bucket does not exist: ${bucket}`));
    const received = await receiveBody(req, auth, flatHeaders(req));
    let body: Buffer;
    if (received === undefined) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
    } else {
      body = await received.spool.buffer();
      await received.spool.dispose();
    }
    const parsed = parseDeleteRequest(body);
    if ("code" in parsed) return sendS3Error(req, res, parsed);
    const deleted: string[] = [];
    const errors: KeyError[] = [];
    for (const key of parsed.keys) {
      const refused =
        objectKeyProblem(key) ??
        deniedFor(principal, {
          name: "DeleteObject",
          checks: [{ action: "s3:DeleteObject", bucket, key, context: {} }],
        });
      if (refused) {
        errors.push({ key, code: refused.code, message: refused.message });
        continue;
      }
      const release = await locks.acquire(`${bucket}/${key}`);
      try {
        if (await s3rver.store.existsObject(bucket, key)) await s3rver.store.deleteObject(bucket, key);
        deleted.push(key);
      } catch (err) {
        errors.push({ key, code: "InternalError", message: (err as Error).message });
      } finally {
        release();
      }
    }
    const xml = deleteResultXml(deleted, errors, parsed.quiet);
    res.writeHead(200, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(xml) });
    res.end(xml);
  }

  function deniedFor(principal: Principal, op: S3Operation): S3Failure | undefined {
    const denied = firstDenied(principal, op.checks, regionOf);
    return denied ? s3Failure(403, "AccessDenied", accessDeniedMessage(principal, denied)) : undefined;
  }

  /**
   * Read and verify a signed or aws-chunked body before anything is stored. Undefined: the body
   * needs no checking (unsigned payload, or no body) and streams straight to the store.
   */
  async function receiveBody(
    req: http.IncomingMessage,
    auth: Authenticated,
    headers: Record<string, string>,
  ): Promise<{ spool: BodySpool; length: number } | undefined> {
    const payload = auth.payload;
    if (payload.kind === "unsigned") return undefined;
    const declared = headers["content-length"];
    const hasBody = headers["transfer-encoding"] !== undefined || (declared !== undefined && declared !== "0");
    if (payload.kind === "sha256" && !hasBody) {
      if (payload.hex !== EMPTY_SHA256)
        throw new S3BodyError(
          s3Failure(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed (the body is empty).",
          ),
        );
      return undefined;
    }
    const spool = new BodySpool(spoolDirectory);
    try {
      if (payload.kind === "sha256") {
        const hash = crypto.createHash("sha256");
        for await (const chunk of req) {
          hash.update(chunk as Buffer);
          await spool.write(chunk as Buffer);
        }
        if (hash.digest("hex") !== payload.hex)
          throw new S3BodyError(
            s3Failure(
              400,
              "XAmzContentSHA256Mismatch",
              "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ),
          );
        return { spool, length: spool.size };
      }
      const decodedText = headers["x-amz-decoded-content-length"];
      const decoder = new AwsChunkedDecoder({
        ...(payload.kind === "streaming-signed" ? { signing: payload.signing } : {}),
        trailer: payload.kind === "streaming-unsigned-trailer" || payload.trailer,
        ...(decodedText !== undefined && /^\d+$/.test(decodedText) ? { decodedLength: Number(decodedText) } : {}),
      });
      for await (const chunk of req) await decoder.write(chunk as Buffer, (data) => spool.write(data));
      return { spool, length: decoder.finish() };
    } catch (err) {
      await spool.dispose();
      throw err;
    }
  }

  /** Hand the (verified) request to s3rver, with its signature replaced by one s3rver accepts. */
  async function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    auth: Authenticated,
    target: Target,
    op: S3Operation | undefined,
    method: string,
    received: { spool: BodySpool; length: number } | undefined,
  ): Promise<void> {
    for (const h of TRANSPORT_HEADERS) delete req.headers[h];
    const encoding = String(req.headers["content-encoding"] ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "" && e.toLowerCase() !== "aws-chunked");
    if (encoding.length > 0) req.headers["content-encoding"] = encoding.join(", ");
    else delete req.headers["content-encoding"];
    // The request is verified: s3rver sees its own dummy account and a path-style host.
    req.headers.authorization = `AWS4-HMAC-SHA256 Credential=S3RVER/20000101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`;
    req.headers["x-amz-date"] = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
    req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
    req.headers.host = `127.0.0.1:${port}`;
    if (auth.authQueryParams.length > 0) {
      const kept = target.rawQuery.split("&").filter((part) => {
        const name = part.split("=")[0];
        return part !== "" && !auth.authQueryParams.includes(decodeURIComponent(name));
      });
      req.url = kept.length > 0 ? `${target.rawPath}?${kept.join("&")}` : target.rawPath;
    }
    if (op?.copySource !== undefined) normalizeCopySource(req, op.copySource);

    let request: http.IncomingMessage = req;
    if (received !== undefined) {
      req.headers["content-length"] = String(received.length);
      request = asIncomingMessage(req, await received.spool.replay());
      res.on("close", () => void received.spool.dispose());
    }

    const { bucket, key, query } = target;
    const subresource = has(query, "tagging") || has(query, "acl");
    const isObjectWrite =
      key !== "" && (method === "PUT" || method === "DELETE") && !has(query, "uploadId") && !subresource;
    // s3rver rewrites an object's file in place: a read overlapping a write of the same key would
    // see a truncated body (or a length that disagrees with the metadata and an aborted response).
    // Reads and multipart completions therefore take the key's lock too.
    const isObjectRead = key !== "" && (method === "GET" || method === "HEAD") && !subresource;
    const isMultipartComplete = key !== "" && method === "POST" && has(query, "uploadId");
    if (!isObjectWrite && !isObjectRead && !isMultipartComplete) {
      serve(request, res);
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
      const failure = isObjectWrite
        ? await checkPreconditions(req, bucket, key)
        : isObjectRead
          ? await hiddenMissingKey(auth.principal, bucket, key)
          : undefined;
      if (failure) return sendS3Error(request, res, failure);
      serve(request, res);
    } catch (err) {
      done();
      throw err;
    }
  }

  /**
   * S3 says NoSuchKey only to callers allowed s3:ListBucket on the bucket; others get 403 for a
   * missing key (so they cannot probe for names). Users hold ListBucket only for their own
   * folder's prefixes, so reading a key that is not there is AccessDenied for them, as on AWS.
   */
  async function hiddenMissingKey(principal: Principal, bucket: string, key: string): Promise<S3Failure | undefined> {
    if (principal.policies === undefined || (await s3rver.store.existsObject(bucket, key))) return undefined;
    const denied = firstDenied(principal, [{ action: "s3:ListBucket", bucket, context: {} }], regionOf);
    if (!denied) return undefined;
    return s3Failure(
      403,
      "AccessDenied",
      `Access Denied (S3 answers 403, not 404, for a key that is not there when the caller may not s3:ListBucket the whole bucket; ${principal.arn} may not)`,
    );
  }

  async function checkPreconditions(
    req: http.IncomingMessage,
    bucket: string,
    key: string,
  ): Promise<S3Failure | undefined> {
    const ifNoneMatch = header(req, "if-none-match");
    const ifMatch = header(req, "if-match");
    if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
    const current = await s3rver.store.getMetadata(bucket, key).then(
      (m) => m.etag,
      () => undefined,
    );
    return preconditionFailure(ifNoneMatch, ifMatch, current);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(args.port ?? 0, args.host ?? "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    endpoint: `http://${endpointHost(args.host)}:${port}`,
    directory,
    credentials,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      s3rver.logger.exceptions.unhandle();
      s3rver.logger.close();
      fs.rmSync(spoolDirectory, { recursive: true, force: true });
      if (ownsDirectory) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * A verified body as the request s3rver reads: the spooled (decoded) bytes, with the original
 * request's method, URL, headers and socket.
 */
function asIncomingMessage(req: http.IncomingMessage, body: Readable): http.IncomingMessage {
  return Object.assign(body, {
    method: req.method,
    url: req.url,
    headers: req.headers,
    rawHeaders: [] as string[],
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
    complete: true,
    aborted: false,
  }) as unknown as http.IncomingMessage;
}

function endpointHost(host: string | undefined): string {
  if (host === undefined || host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * s3rver reads `x-amz-copy-source` with `decodeURI`, which leaves reserved characters encoded
 * (`%3A` stays `%3A`), so copying `logs/DATASET_NAME:x_STATUS.txt` failed with NoSuchKey. S3
 * decodes the header fully: hand s3rver a form its `decodeURI` turns into the real (checked) key.
 */
function normalizeCopySource(req: http.IncomingMessage, source: NonNullable<S3Operation["copySource"]>): void {
  req.headers["x-amz-copy-source"] = encodeURI(`${source.bucket}/${source.key}`);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
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
