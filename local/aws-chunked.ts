/**
 * Decoder of `Content-Encoding: aws-chunked` bodies (SigV4 streaming uploads), checking each
 * chunk's signature when the body is signed:
 *
 *   hex-size;chunk-signature=SIG\r\n DATA \r\n ... 0;chunk-signature=SIG\r\n [trailers] \r\n
 *
 * (unsigned-trailer bodies carry no `;chunk-signature`). Chunk signatures chain from the
 * request's own signature (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html).
 * s3rver stores such bodies verbatim, framing and all; the endpoint hands it the decoded bytes.
 */
import { createHash, type Hash } from "node:crypto";
import { s3Failure, type S3Failure } from "./s3-errors";
import type { ChunkSigning } from "./sigv4";

/** A decoding failure carrying the S3 error to answer with. */
export class S3BodyError extends Error {
  constructor(readonly failure: S3Failure) {
    super(failure.message);
  }
}

const MAX_LINE = 8 * 1024;
const CRLF = Buffer.from("\r\n");

type State = "size" | "data" | "data-end" | "trailer" | "done";

export interface AwsChunkedOptions {
  /** Signed bodies: how to compute the expected signatures. */
  readonly signing?: ChunkSigning;
  /** The body ends with trailing headers (`x-amz-trailer`). */
  readonly trailer: boolean;
  /** `x-amz-decoded-content-length`, checked at the end when given. */
  readonly decodedLength?: number;
}

export class AwsChunkedDecoder {
  private state: State = "size";
  private pending = Buffer.alloc(0);
  private remaining = 0;
  private chunkSignature = "";
  private previous: string;
  private hash: Hash = createHash("sha256");
  private decoded = 0;
  private readonly trailerLines: string[] = [];

  constructor(private readonly options: AwsChunkedOptions) {
    this.previous = options.signing?.seedSignature ?? "";
  }

  private fail(code: string, message: string): never {
    throw new S3BodyError(s3Failure(code === "SignatureDoesNotMatch" ? 403 : 400, code, message));
  }

  /** Feed received bytes; decoded data goes to `out` (which may be called several times). */
  async write(input: Buffer, out: (data: Buffer) => Promise<void>): Promise<void> {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.state === "data") {
        const take = Math.min(this.remaining, buf.length);
        const data = buf.subarray(0, take);
        this.hash.update(data);
        this.remaining -= take;
        this.decoded += take;
        buf = buf.subarray(take);
        await out(data);
        if (this.remaining === 0) {
          await this.endChunk();
          this.state = "data-end";
        }
        continue;
      }
      if (this.state === "done") this.fail("IncompleteBody", "The aws-chunked body has data after its final chunk.");
      const eol = buf.indexOf(CRLF);
      if (eol === -1) {
        if (buf.length > MAX_LINE) this.fail("InvalidRequest", "An aws-chunked chunk header is too long.");
        this.pending = Buffer.from(buf);
        return;
      }
      const line = buf.subarray(0, eol).toString("latin1");
      buf = buf.subarray(eol + 2);
      await this.line(line);
    }
  }

  private async line(line: string): Promise<void> {
    switch (this.state) {
      case "data-end":
        if (line !== "") this.fail("IncompleteBody", "An aws-chunked chunk is longer than its declared size.");
        this.state = "size";
        return;
      case "size": {
        const [sizeText, ...extensions] = line.split(";");
        if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText))
          this.fail("InvalidRequest", `Malformed aws-chunked chunk size "${sizeText.slice(0, 32)}".`);
        const signature = extensions
          .map((e) => /^chunk-signature=([0-9a-f]{64})$/.exec(e.trim())?.[1])
          .find((s) => s !== undefined);
        if (this.options.signing && signature === undefined)
          this.fail("SignatureDoesNotMatch", "An aws-chunked chunk has no chunk-signature.");
        this.chunkSignature = signature ?? "";
        this.remaining = parseInt(sizeText, 16);
        this.hash = createHash("sha256");
        if (this.remaining > 0) {
          this.state = "data";
          return;
        }
        // The final chunk: trailing headers (if any) and an empty line follow.
        await this.endChunk();
        this.state = "trailer";
        return;
      }
      case "trailer":
        if (line !== "") {
          this.trailerLines.push(line);
          return;
        }
        await this.endTrailer();
        this.state = "done";
        return;
      default:
        this.fail("InvalidRequest", "Malformed aws-chunked body.");
    }
  }

  private async endChunk(): Promise<void> {
    if (!this.options.signing) return;
    const expected = await this.options.signing.chunkSignature(this.previous, this.hash.digest("hex"));
    if (expected !== this.chunkSignature)
      this.fail(
        "SignatureDoesNotMatch",
        "The signature of an aws-chunked chunk does not match (wrong key, or the body was altered).",
      );
    this.previous = expected;
  }

  private async endTrailer(): Promise<void> {
    const headers = this.trailerLines.filter((l) => !l.toLowerCase().startsWith("x-amz-trailer-signature:"));
    if (!this.options.trailer && headers.length > 0)
      this.fail("InvalidRequest", "The aws-chunked body has trailing headers but the request announced none.");
    if (!this.options.signing || !this.options.trailer) return;
    const signatureLine = this.trailerLines.find((l) => l.toLowerCase().startsWith("x-amz-trailer-signature:"));
    if (signatureLine === undefined)
      this.fail("SignatureDoesNotMatch", "The aws-chunked trailer has no x-amz-trailer-signature.");
    const canonical = headers
      .map((l) => `${l.slice(0, l.indexOf(":")).trim().toLowerCase()}:${l.slice(l.indexOf(":") + 1).trim()}\n`)
      .join("");
    const expected = await this.options.signing.trailerSignature(
      this.previous,
      createHash("sha256").update(canonical).digest("hex"),
    );
    if (expected !== signatureLine.slice(signatureLine.indexOf(":") + 1).trim())
      this.fail("SignatureDoesNotMatch", "The aws-chunked trailer signature does not match.");
  }

  /** Call when the request body ended: throws unless the body was complete. */
  finish(): number {
    if (this.state !== "done" || this.pending.length > 0)
      this.fail("IncompleteBody", "The aws-chunked body ended before its final chunk.");
    if (this.options.decodedLength !== undefined && this.options.decodedLength !== this.decoded) {
      this.fail(
        "IncompleteBody",
        `You did not provide the number of bytes specified by x-amz-decoded-content-length (${this.options.decodedLength}); the body held ${this.decoded}.`,
      );
    }
    return this.decoded;
  }
}
