/**
 * Raw HTTP requests to a local endpoint, signed (or not) exactly as given: the path goes on the
 * wire as written (`/b/%2E%2E/x` stays that way, which SDK clients and `fetch` would normalise),
 * so tests can send what an attacker would.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Credentials } from "../../../local/keys";
import { NodeSha256 } from "../../../local/sigv4";

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RawRequest {
  readonly method: string;
  /** Raw path, percent-encoded as it should appear on the wire. */
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Sign with these credentials (default: send unsigned). */
  readonly credentials?: Credentials;
  /** x-amz-content-sha256 to sign (default: the body's SHA-256). */
  readonly payloadHash?: string;
  /** Headers added after signing (not covered by the signature). */
  readonly afterSigning?: Record<string, string>;
  readonly signingDate?: Date;
  /** Sign for this path but send `path` (a signature replayed on another key). */
  readonly signedPath?: string;
}

function queryString(query: Record<string, string> | undefined): string {
  if (!query || Object.keys(query).length === 0) return "";
  return `?${Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&")}`;
}

export function signer(credentials: Credentials, region = "us-east-1"): SignatureV4 {
  return new SignatureV4({
    credentials,
    region,
    service: "s3",
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
}

/** Headers of a request signed as an SDK would sign it. */
export async function signHeaders(endpoint: string, r: RawRequest): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const headers: Record<string, string> = { host: url.host, ...(r.headers ?? {}) };
  if (r.payloadHash !== undefined) headers["x-amz-content-sha256"] = r.payloadHash;
  if (!r.credentials) return headers;
  const signed = await signer(r.credentials).sign(
    {
      method: r.method,
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: r.signedPath ?? r.path,
      query: r.query ?? {},
      headers,
      body,
    },
    { signingDate: r.signingDate ?? new Date() },
  );
  return signed.headers as Record<string, string>;
}

export async function rawRequest(endpoint: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(endpoint);
  const headers = { ...(await signHeaders(endpoint, r)), ...(r.afterSigning ?? {}) };
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  if (body !== undefined && headers["content-length"] === undefined && headers["transfer-encoding"] === undefined)
    headers["content-length"] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: r.method, path: `${r.path}${queryString(r.query)}`, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The S3 error code of an XML error answer. */
export function errorCode(res: RawResponse): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(res.body)?.[1];
}

/**
 * A `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body as an SDK that streams signed chunks builds it
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html), chained from the
 * request's seed signature. `tamper(i, data)` may change chunk i after it was signed.
 */
export async function signedChunkedBody(
  credentials: Credentials,
  signingDate: Date,
  seedSignature: string,
  chunks: readonly Buffer[],
  tamper?: (index: number, data: Buffer) => Buffer,
): Promise<Buffer> {
  const longDate = signingDate.toISOString().replace(/[-:]|\.\d{3}/g, "");
  const scope = `${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  const parts: Buffer[] = [];
  let previous = seedSignature;
  for (const [i, data] of [...chunks, Buffer.alloc(0)].entries()) {
    const signature = await signer(credentials).sign(
      ["AWS4-HMAC-SHA256-PAYLOAD", longDate, scope, previous, sha(Buffer.alloc(0)), sha(data)].join("\n"),
      { signingDate },
    );
    previous = signature;
    parts.push(
      Buffer.from(`${data.length.toString(16)};chunk-signature=${signature}\r\n`),
      tamper ? tamper(i, data) : data,
      Buffer.from("\r\n"),
    );
  }
  return Buffer.concat(parts);
}
