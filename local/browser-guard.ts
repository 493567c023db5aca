/**
 * Keeps web pages from using the local endpoint through a visitor's browser (cross-site request
 * forgery): a page on `http://evil.example` could otherwise make the browser PUT a submit file.
 * Requests a browser marks as coming from another origin (`Origin`, `Sec-Fetch-Site`) are
 * refused unless the operator allowed that origin (`--allow-origin`); pages served by the
 * endpoint itself (same origin, e.g. a dashboard under `/_dashboard/`) are fine.
 */
import { s3Failure, type S3Failure } from "./s3-errors";

export interface BrowserCheck {
  /** The allowed cross-origin caller to name in CORS response headers. */
  readonly corsOrigin?: string;
}

/** `http://host[:port]`, lower-case, default port dropped; undefined when not an http(s) origin. */
function normalizeOrigin(origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.pathname !== "/" ||
    url.search ||
    url.hash ||
    url.username
  )
    return undefined;
  return url.origin;
}

/** Validates `--allow-origin` values; throws naming the bad one. */
export function parseAllowedOrigins(origins: readonly string[]): string[] {
  return origins.map((o) => {
    const n = normalizeOrigin(o);
    if (n === undefined || n === "null")
      throw new Error(
        `--allow-origin: "${o}" is not an origin such as http://localhost:3000 (scheme, host and optional port; no path)`,
      );
    return n;
  });
}

/** Refuse a browser request from a foreign origin. */
export function checkBrowserRequest(
  headers: Readonly<Record<string, string | undefined>>,
  allowed: readonly string[],
): (BrowserCheck & { readonly failure?: undefined }) | { readonly failure: S3Failure } {
  const origin = headers.origin;
  const site = headers["sec-fetch-site"]?.toLowerCase();
  if (origin !== undefined) {
    const own = headers.host !== undefined ? normalizeOrigin(`http://${headers.host}`) : undefined;
    const from = normalizeOrigin(origin);
    if (from !== undefined && from === own) return {};
    if (from !== undefined && allowed.includes(from)) return { corsOrigin: from };
    return {
      failure: s3Failure(
        403,
        "AccessDenied",
        `Cross-origin request from ${origin} refused: only pages of the endpoint itself${allowed.length > 0 ? ` and ${allowed.join(", ")}` : ""} may call it (allow an origin with \`neurocaas local --allow-origin ORIGIN\`)`,
      ),
    };
  }
  if (site === "cross-site" || site === "same-site") {
    return {
      failure: s3Failure(
        403,
        "AccessDenied",
        `Cross-site browser request (Sec-Fetch-Site: ${site}) without an Origin refused`,
      ),
    };
  }
  return {};
}

/** CORS headers for an allowed cross-origin caller. */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": origin,
    Vary: "Origin",
    "Access-Control-Expose-Headers": "ETag, Content-Length, Content-Range, x-amz-request-id, x-amz-version-id",
  };
}

/** Headers of a successful preflight (OPTIONS) answer. */
export function preflightHeaders(origin: string, requestHeaders: string | undefined): Record<string, string> {
  return {
    ...corsHeaders(origin),
    "Access-Control-Allow-Methods": "GET, PUT, POST, DELETE, HEAD",
    ...(requestHeaders ? { "Access-Control-Allow-Headers": requestHeaders } : {}),
    "Access-Control-Max-Age": "3000",
  };
}
