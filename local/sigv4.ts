/**
 * AWS Signature Version 4 verification for the local endpoint, with the AWS SDK's own signer
 * (@smithy/signature-v4): the request is rebuilt from what arrived (method, path as sent, query,
 * the headers the client says it signed) and signed again with the secret of the claimed access
 * key; the signatures must be equal. Header form (`Authorization: AWS4-HMAC-SHA256 ...`),
 * presigned URLs (`X-Amz-Signature=...`) and, for the body, the streaming-chunk forms
 * (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, whose chunk signatures `aws-chunked.ts`
 * checks with `ChunkSigning`) are supported; the errors are S3's.
 */
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import type { KeyLookup } from "./keys";
import type { Principal } from "./principals";
import { s3Failure, type S3Failure } from "./s3-errors";

const ALGORITHM = "AWS4-HMAC-SHA256";
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/** S3 refuses header-signed requests whose time is further than this from the server's. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGNED_EXPIRES_S = 7 * 24 * 3600;

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The hash the signer is built with: SHA-256, or HMAC-SHA256 when given a key (node:crypto); also for test clients. */
export class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(this.secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** The parts of an HTTP request signing covers, as received. */
export interface ReceivedRequest {
  readonly method: string;
  /** Host header as sent. */
  readonly host: string;
  /** Path exactly as on the wire (still percent-encoded). */
  readonly rawPath: string;
  /** Query parameters, percent-decoded (a repeated name gives an array). */
  readonly query: Readonly<Record<string, string | readonly string[]>>;
  /** Lower-case header names; repeated headers joined with ",". */
  readonly headers: Readonly<Record<string, string>>;
}

/** How the body was signed. */
type PayloadSigning =
  | { readonly kind: "unsigned" }
  | { readonly kind: "sha256"; readonly hex: string }
  | { readonly kind: "streaming-signed"; readonly trailer: boolean; readonly signing: ChunkSigning }
  | { readonly kind: "streaming-unsigned-trailer" };

/** Computes the signatures a signed aws-chunked body must carry. */
export interface ChunkSigning {
  /** Signature of the request headers: the first chunk's "previous signature". */
  readonly seedSignature: string;
  chunkSignature(previous: string, chunkSha256: string): Promise<string>;
  trailerSignature(previous: string, trailerSha256: string): Promise<string>;
}

export interface Authenticated {
  readonly accessKeyId: string;
  readonly principal: Principal;
  readonly payload: PayloadSigning;
  /** Query parameters that carried the signature (to strip before the store sees the request). */
  readonly authQueryParams: readonly string[];
}

const PRESIGN_PARAMS = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
];

function first(query: ReceivedRequest["query"], name: string): string | undefined {
  const v = query[name];
  return v === undefined ? undefined : typeof v === "string" ? v : v[0];
}

/** `yyyyMMddTHHmmssZ` → Date (undefined when malformed). */
function parseAmzDate(text: string | undefined): Date | undefined {
  const m = text === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface Scope {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

function parseCredential(credential: string): Scope | undefined {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request" || !/^\d{8}$/.test(parts[1]) || parts[0] === "")
    return undefined;
  return { accessKeyId: parts[0], date: parts[1], region: parts[2], service: parts[3] };
}

const PAYLOAD_HASH = /^[0-9a-f]{64}$/i;

function payloadSigning(value: string, signing: ChunkSigning): PayloadSigning | S3Failure {
  switch (value) {
    case "UNSIGNED-PAYLOAD":
      return { kind: "unsigned" };
    case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
      return { kind: "streaming-signed", trailer: false, signing };
    case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER":
      return { kind: "streaming-signed", trailer: true, signing };
    case "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
      return { kind: "streaming-unsigned-trailer" };
    default:
      if (PAYLOAD_HASH.test(value)) return { kind: "sha256", hex: value.toLowerCase() };
      if (value.startsWith("STREAMING-AWS4-ECDSA"))
        return s3Failure(
          501,
          "NotImplemented",
          "Signature Version 4A (ECDSA) is not supported by the local endpoint; sign with AWS4-HMAC-SHA256",
        );
      return s3Failure(
        400,
        "InvalidArgument",
        `x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-... value or a SHA-256 hex digest, got "${value}"`,
      );
  }
}

function signerFor(secretAccessKey: string, scope: Scope): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: scope.accessKeyId, secretAccessKey },
    region: scope.region,
    service: scope.service,
    sha256: NodeSha256,
    // S3 signs the path as sent (no double encoding) and does not add the payload hash header itself.
    uriEscapePath: false,
    applyChecksum: false,
  });
}

/** Every `x-amz-*` header present must be signed (or a signed request could be altered in transit). */
function unsignedAmzHeaders(headers: ReceivedRequest["headers"], signed: ReadonlySet<string>): string[] {
  return Object.keys(headers).filter((h) => h.startsWith("x-amz-") && !signed.has(h) && h !== "x-amz-content-sha256");
}

function chunkSigning(
  signer: SignatureV4,
  scope: Scope,
  signingDate: Date,
  longDate: string,
  seedSignature: string,
): ChunkSigning {
  const scopeText = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const options = { signingDate, signingRegion: scope.region, signingService: scope.service };
  return {
    seedSignature,
    chunkSignature: (previous, chunkSha256) =>
      signer.sign(
        ["AWS4-HMAC-SHA256-PAYLOAD", longDate, scopeText, previous, EMPTY_SHA256, chunkSha256].join("\n"),
        options,
      ),
    trailerSignature: (previous, trailerSha256) =>
      signer.sign(["AWS4-HMAC-SHA256-TRAILER", longDate, scopeText, previous, trailerSha256].join("\n"), options),
  };
}

function requestToSign(
  req: ReceivedRequest,
  signedHeaders: readonly string[],
  query: ReceivedRequest["query"],
  payloadHash: string,
) {
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  headers["x-amz-content-sha256"] = payloadHash;
  const [hostname, port] = req.host.split(":");
  return {
    method: req.method.toUpperCase(),
    protocol: "http:",
    hostname,
    ...(port ? { port: Number(port) } : {}),
    path: req.rawPath,
    query: query as Record<string, string | string[]>,
    headers,
  };
}

function signingOptions(signedHeaders: readonly string[], signingDate: Date, scope: Scope) {
  const signed = new Set(signedHeaders);
  return {
    signingDate,
    signingRegion: scope.region,
    signingService: scope.service,
    signableHeaders: signed,
    unsignableHeaders: new Set(signed.has("x-amz-content-sha256") ? [] : ["x-amz-content-sha256"]),
  };
}

const mismatch = (accessKeyId: string) =>
  s3Failure(
    403,
    "SignatureDoesNotMatch",
    `The request signature we calculated does not match the signature you provided. Check your key and signing method (access key ${accessKeyId}).`,
  );

function unknownKey(accessKeyId: string, keys: KeyLookup): S3Failure {
  return s3Failure(
    403,
    "InvalidAccessKeyId",
    `The AWS Access Key Id you provided does not exist in our records: ${accessKeyId}${keys.hint ? ` (${keys.hint})` : ""}.`,
  );
}

async function verifyHeader(
  req: ReceivedRequest,
  authorization: string,
  keys: KeyLookup,
  now: Date,
): Promise<Authenticated | S3Failure> {
  if (!authorization.startsWith(`${ALGORITHM} `)) {
    return s3Failure(
      400,
      "InvalidRequest",
      "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    );
  }
  const fields = new Map<string, string>();
  for (const part of authorization.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signedHeaderList = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credential || !signedHeaderList || !signature) {
    return s3Failure(
      400,
      "AuthorizationHeaderMalformed",
      "The authorization header is malformed; it requires Credential, SignedHeaders and Signature.",
    );
  }
  const scope = parseCredential(credential);
  if (!scope)
    return s3Failure(
      400,
      "AuthorizationHeaderMalformed",
      `The authorization header is malformed; the Credential "${credential}" is not ACCESSKEY/yyyymmdd/region/s3/aws4_request.`,
    );
  if (scope.service !== "s3")
    return s3Failure(
      400,
      "AuthorizationHeaderMalformed",
      `The authorization header is malformed; the service "${scope.service}" is wrong, expecting "s3".`,
    );
  const entry = keys.lookup(scope.accessKeyId);
  if (!entry) return unknownKey(scope.accessKeyId, keys);
  if (req.headers["x-amz-security-token"] !== undefined)
    return s3Failure(
      403,
      "InvalidToken",
      "The provided token is malformed or otherwise invalid (the local endpoint issues no session tokens).",
    );
  const signingDate = parseAmzDate(req.headers["x-amz-date"]);
  if (!signingDate)
    return s3Failure(403, "AccessDenied", "AWS authentication requires a valid x-amz-date header (yyyyMMddTHHmmssZ).");
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    return s3Failure(
      403,
      "RequestTimeTooSkewed",
      `The difference between the request time (${req.headers["x-amz-date"]}) and the server's time (${now.toISOString()}) is too large.`,
    );
  }
  const contentSha = req.headers["x-amz-content-sha256"];
  if (contentSha === undefined)
    return s3Failure(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  const signedHeaders = signedHeaderList.split(";").map((h) => h.trim().toLowerCase());
  if (!signedHeaders.includes("host")) return s3Failure(403, "AccessDenied", "The host header must be signed.");
  const unsigned = unsignedAmzHeaders(req.headers, new Set(signedHeaders));
  if (unsigned.length > 0)
    return s3Failure(
      403,
      "AccessDenied",
      `There were headers present in the request which were not signed: ${unsigned.join(", ")}`,
    );

  const signer = signerFor(entry.secretAccessKey, scope);
  const signed = await signer.sign(
    requestToSign(req, signedHeaders, req.query, contentSha),
    signingOptions(signedHeaders, signingDate, scope),
  );
  const computed = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))?.[1] ?? "";
  if (!sameSignature(computed, signature.toLowerCase())) return mismatch(scope.accessKeyId);
  const payload = payloadSigning(
    contentSha,
    chunkSigning(signer, scope, signingDate, req.headers["x-amz-date"] as string, computed),
  );
  if ("code" in payload) return payload;
  return { accessKeyId: scope.accessKeyId, principal: entry.principal, payload, authQueryParams: [] };
}

async function verifyPresigned(req: ReceivedRequest, keys: KeyLookup, now: Date): Promise<Authenticated | S3Failure> {
  const bad = (why: string) => s3Failure(400, "AuthorizationQueryParametersError", why);
  if (first(req.query, "X-Amz-Algorithm") !== ALGORITHM) return bad(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const [credential, date, expires, signedHeaderList, signature] = PRESIGN_PARAMS.slice(1).map((p) =>
    first(req.query, p),
  );
  if (!credential || !date || !expires || !signedHeaderList || !signature) {
    return bad(
      "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    );
  }
  const scope = parseCredential(credential);
  if (!scope) return bad(`X-Amz-Credential "${credential}" is not ACCESSKEY/yyyymmdd/region/s3/aws4_request.`);
  if (scope.service !== "s3") return bad(`X-Amz-Credential names the service "${scope.service}", expecting "s3".`);
  const entry = keys.lookup(scope.accessKeyId);
  if (!entry) return unknownKey(scope.accessKeyId, keys);
  if (first(req.query, "X-Amz-Security-Token") !== undefined)
    return s3Failure(
      403,
      "InvalidToken",
      "The provided token is malformed or otherwise invalid (the local endpoint issues no session tokens).",
    );
  const signingDate = parseAmzDate(date);
  if (!signingDate) return bad("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  const expiresIn = Number(expires);
  if (!/^\d+$/.test(expires) || expiresIn < 1 || expiresIn > MAX_PRESIGNED_EXPIRES_S)
    return bad(`X-Amz-Expires must be between 1 and ${MAX_PRESIGNED_EXPIRES_S} seconds, got "${expires}"`);
  if (now.getTime() > signingDate.getTime() + expiresIn * 1000)
    return s3Failure(403, "AccessDenied", `Request has expired (signed ${date}, valid for ${expiresIn} s).`);
  if (signingDate.getTime() - now.getTime() > MAX_CLOCK_SKEW_MS)
    return s3Failure(403, "AccessDenied", "Request is not valid yet (X-Amz-Date is in the future).");
  const signedHeaders = signedHeaderList.split(";").map((h) => h.trim().toLowerCase());
  if (!signedHeaders.includes("host")) return s3Failure(403, "AccessDenied", "The host header must be signed.");
  const unsigned = unsignedAmzHeaders(req.headers, new Set(signedHeaders));
  if (unsigned.length > 0)
    return s3Failure(
      403,
      "AccessDenied",
      `There were headers present in the request which were not signed: ${unsigned.join(", ")}`,
    );

  const query = Object.fromEntries(Object.entries(req.query).filter(([k]) => !PRESIGN_PARAMS.includes(k)));
  const toSign = requestToSign(
    req,
    signedHeaders,
    query,
    req.headers["x-amz-content-sha256"] !== undefined && signedHeaders.includes("x-amz-content-sha256")
      ? req.headers["x-amz-content-sha256"]
      : "UNSIGNED-PAYLOAD",
  );
  const signer = signerFor(entry.secretAccessKey, scope);
  const presigned = await signer.presign(toSign, {
    ...signingOptions(signedHeaders, signingDate, scope),
    expiresIn,
    unhoistableHeaders: new Set(Object.keys(toSign.headers)),
  });
  const computed = String(presigned.query?.["X-Amz-Signature"] ?? "");
  if (!sameSignature(computed, signature.toLowerCase())) return mismatch(scope.accessKeyId);
  return {
    accessKeyId: scope.accessKeyId,
    principal: entry.principal,
    payload: { kind: "unsigned" },
    authQueryParams: [...PRESIGN_PARAMS],
  };
}

/**
 * Verify a request's signature. Unsigned requests are refused (AccessDenied), as S3 refuses
 * anonymous requests to private buckets.
 */
export async function authenticate(
  req: ReceivedRequest,
  keys: KeyLookup,
  now = new Date(),
): Promise<Authenticated | S3Failure> {
  const authorization = req.headers.authorization;
  const presigned =
    first(req.query, "X-Amz-Algorithm") !== undefined || first(req.query, "X-Amz-Signature") !== undefined;
  if (authorization !== undefined && presigned) {
    return s3Failure(
      400,
      "InvalidArgument",
      "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified",
    );
  }
  if (authorization !== undefined) return verifyHeader(req, authorization, keys, now);
  if (presigned) return verifyPresigned(req, keys, now);
  if (first(req.query, "Signature") !== undefined || first(req.query, "AWSAccessKeyId") !== undefined) {
    return s3Failure(
      400,
      "InvalidRequest",
      "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    );
  }
  return s3Failure(
    403,
    "AccessDenied",
    "Anonymous access is not allowed: sign requests with AWS Signature Version 4 (the admin key on `neurocaas local`'s ready line, or a user's key).",
  );
}
