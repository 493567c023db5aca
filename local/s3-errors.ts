/**
 * S3 error answers of the local endpoint's front handler: the status, the S3 error code clients
 * branch on, and a message that says what was wrong and what to do.
 */
import type * as http from "node:http";

export interface S3Failure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export function s3Failure(status: number, code: string, message: string): S3Failure {
  return { status, code, message };
}

/** The answer to a request a test's fault hook fails with `status`. */
export function injectedFault(status: number): S3Failure {
  return s3Failure(status, status === 503 ? "SlowDown" : "InternalError", "Injected fault");
}

/** Escape text for an XML element body or attribute. */
export function xmlEscape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string,
  );
}

/** Bodies up to this size are read and dropped after a refusal; beyond it the connection is closed. */
const DRAIN_LIMIT = 1024 * 1024;

/**
 * Answer with an S3 error document (no body for HEAD, as S3 does). A small unread request body is
 * drained so the connection can be reused; a large one (a refused upload) is not read at all.
 */
export function sendS3Error(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  failure: S3Failure,
  requestId?: string,
): void {
  const length = Number(req.headers["content-length"] ?? 0);
  if (!req.complete && (req.headers["transfer-encoding"] !== undefined || length > DRAIN_LIMIT))
    res.setHeader("Connection", "close");
  req.resume();
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const id = requestId ?? (res.getHeader("x-amz-request-id") as string | undefined) ?? "";
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(failure.code)}</Code><Message>${xmlEscape(failure.message)}</Message>` +
    `<RequestId>${xmlEscape(id)}</RequestId></Error>`;
  const head = (req.method ?? "").toUpperCase() === "HEAD";
  res.writeHead(failure.status, {
    "Content-Type": "application/xml",
    "Content-Length": head ? 0 : Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}
