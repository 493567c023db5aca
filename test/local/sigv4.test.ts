/**
 * Signature V4 verification against AWS's own published example (the chunked PUT of 66560 bytes
 * of "a" in the S3 API reference, "Transferring payload in multiple chunks"), so the verifier is
 * checked against the real service's signatures, not merely against itself.
 */
import { AwsChunkedDecoder, S3BodyError } from "../../local/aws-chunked";
import { KeyRing } from "../../local/keys";
import { authenticate, type Authenticated, type ReceivedRequest } from "../../local/sigv4";

const EXAMPLE_KEY = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const EXAMPLE_TIME = new Date("2013-05-24T00:00:00Z");
const SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const CHUNKS = [
  { size: 65536, signature: "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648" },
  { size: 1024, signature: "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497" },
  { size: 0, signature: "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9" },
];

function exampleRequest(signature = SEED): ReceivedRequest {
  return {
    method: "PUT",
    host: "s3.amazonaws.com",
    rawPath: "/examplebucket/chunkObject.txt",
    query: {},
    headers: {
      host: "s3.amazonaws.com",
      "x-amz-date": "20130524T000000Z",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
        "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class," +
        `Signature=${signature}`,
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": "66560",
      "content-length": "66824",
    },
  };
}

function exampleBody(corruptAt?: number): Buffer {
  return Buffer.concat(
    CHUNKS.flatMap((c) => {
      const data = Buffer.alloc(c.size, "a");
      if (corruptAt !== undefined && corruptAt < c.size) data[corruptAt] = 0x62;
      return [Buffer.from(`${c.size.toString(16)};chunk-signature=${c.signature}\r\n`), data, Buffer.from("\r\n")];
    }),
  );
}

const keys = KeyRing.single(EXAMPLE_KEY);

async function decode(auth: Authenticated, body: Buffer, pieces: number): Promise<Buffer> {
  if (auth.payload.kind !== "streaming-signed")
    throw new Error(`expected a signed streaming payload, got ${auth.payload.kind}`);
  const decoder = new AwsChunkedDecoder({ signing: auth.payload.signing, trailer: false, decodedLength: 66560 });
  const out: Buffer[] = [];
  const step = Math.ceil(body.length / pieces);
  for (let i = 0; i < body.length; i += step)
    await decoder.write(body.subarray(i, i + step), async (d) => void out.push(Buffer.from(d)));
  decoder.finish();
  return Buffer.concat(out);
}

describe("Signature V4 verification (AWS's published streaming example)", () => {
  it("accepts the example's seed signature and every chunk signature, in any split of the body", async () => {
    const auth = await authenticate(exampleRequest(), keys, EXAMPLE_TIME);
    expect("code" in auth ? auth : auth.accessKeyId).toBe(EXAMPLE_KEY.accessKeyId);
    const body = exampleBody();
    expect(body.length).toBe(66824);
    for (const pieces of [1, 7, 1000])
      expect((await decode(auth as Authenticated, body, pieces)).equals(Buffer.alloc(66560, "a"))).toBe(true);
  });

  it("refuses the example when one byte of a chunk changed (SignatureDoesNotMatch)", async () => {
    const auth = (await authenticate(exampleRequest(), keys, EXAMPLE_TIME)) as Authenticated;
    await expect(decode(auth, exampleBody(10), 3)).rejects.toMatchObject({
      failure: { code: "SignatureDoesNotMatch" },
    });
    await expect(decode(auth, exampleBody(10), 3)).rejects.toBeInstanceOf(S3BodyError);
  });

  it("refuses a wrong seed signature, a wrong secret and an unknown key", async () => {
    expect(await authenticate(exampleRequest("0".repeat(64)), keys, EXAMPLE_TIME)).toMatchObject({
      code: "SignatureDoesNotMatch",
      status: 403,
    });
    const wrongSecret = KeyRing.single({ ...EXAMPLE_KEY, secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ" });
    expect(await authenticate(exampleRequest(), wrongSecret, EXAMPLE_TIME)).toMatchObject({
      code: "SignatureDoesNotMatch",
    });
    const other = KeyRing.single({ accessKeyId: "AKIAOTHEROTHEROTHER1", secretAccessKey: EXAMPLE_KEY.secretAccessKey });
    expect(await authenticate(exampleRequest(), other, EXAMPLE_TIME)).toMatchObject({
      code: "InvalidAccessKeyId",
      status: 403,
    });
  });

  it("refuses a header-signed request more than 15 minutes off the server's clock (RequestTimeTooSkewed)", async () => {
    expect(await authenticate(exampleRequest(), keys, new Date(EXAMPLE_TIME.getTime() + 16 * 60_000))).toMatchObject({
      code: "RequestTimeTooSkewed",
    });
  });

  it("refuses a body cut short or with data after its final chunk", async () => {
    const auth = (await authenticate(exampleRequest(), keys, EXAMPLE_TIME)) as Authenticated;
    const body = exampleBody();
    await expect(decode(auth, body.subarray(0, body.length - 10), 1)).rejects.toMatchObject({
      failure: { code: "IncompleteBody" },
    });
    await expect(decode(auth, Buffer.concat([body, Buffer.from("extra")]), 1)).rejects.toMatchObject({
      failure: { code: "IncompleteBody" },
    });
  });

  it("refuses unsigned requests, SigV2 and two auth mechanisms at once", async () => {
    const unsigned = exampleRequest();
    const { authorization: _dropped, ...headers } = unsigned.headers;
    expect(await authenticate({ ...unsigned, headers }, keys, EXAMPLE_TIME)).toMatchObject({
      code: "AccessDenied",
      status: 403,
    });
    expect(
      await authenticate(
        { ...unsigned, headers: { ...headers, authorization: "AWS AKIAIOSFODNN7EXAMPLE:abc=" } },
        keys,
        EXAMPLE_TIME,
      ),
    ).toMatchObject({ code: "InvalidRequest" });
    expect(
      await authenticate({ ...unsigned, query: { "X-Amz-Algorithm": "AWS4-HMAC-SHA256" } }, keys, EXAMPLE_TIME),
    ).toMatchObject({ code: "InvalidArgument" });
  });
});
