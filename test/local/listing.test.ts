/**
 * Listings with a delimiter are S3's (issue 12): every common prefix, also when no object sits
 * directly in it (`aws s3 ls s3://bucket/` shows the group folders, a job folder shows
 * `internal_ec2_logs/`), and pagination (MaxKeys, continuation tokens, StartAfter, V1 markers)
 * that returns every key and common prefix exactly once — checked against a plain model of S3's
 * rules over random key sets, with the SDK (the AWS CLI's listings: listing-aws-cli.e2e.test.ts).
 */
import { ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createLocalS3Client, startLocalS3Server, type LocalS3Server } from "../../local/s3-server";
import { mapBounded } from "../../protocols/concurrency";
import { errorCode, rawRequest } from "./support/raw-s3";
import { BUCKET, FOLDER_KEYS, JOB, RANDOM_KEYS, model, utf8 } from "./support/listing-model";

jest.setTimeout(120_000);

describe("ListObjects / ListObjectsV2 as S3 answers them", () => {
  let s3: LocalS3Server;
  let client: S3Client;

  const seed = async (keys: readonly string[]) => {
    await mapBounded(keys, 20, (Key) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key })));
  };
  const v2Pages = async (prefix: string, delimiter: string, maxKeys: number, startAfter?: string) => {
    const entries: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: prefix,
          ...(delimiter ? { Delimiter: delimiter } : {}),
          MaxKeys: maxKeys,
          ContinuationToken: token,
          ...(startAfter && !token ? { StartAfter: startAfter } : {}),
        }),
      );
      const got = [
        ...(page.Contents ?? []).map((c) => c.Key!),
        ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!),
      ].sort(utf8);
      expect(got.length).toBeLessThanOrEqual(maxKeys);
      expect(page.KeyCount).toBe(got.length);
      expect(page.IsTruncated).toBe(page.NextContinuationToken !== undefined);
      entries.push(...got);
      token = page.NextContinuationToken;
      pages++;
    } while (token);
    return { entries, pages };
  };

  beforeAll(async () => {
    s3 = await startLocalS3Server({ buckets: [BUCKET] });
    client = createLocalS3Client(s3);
    await seed(FOLDER_KEYS);
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  it("the bucket root with Delimiter=/ lists every group folder, though no object sits directly in them", async () => {
    const root = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "", Delimiter: "/" }));
    expect((root.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(["debuggers/", "logs/", "other-lab/"]);
    expect(root.Contents ?? []).toEqual([]);
  });

  it("a job folder lists internal_ec2_logs/, logs/ and process_results/", async () => {
    const job = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${JOB}/`, Delimiter: "/" }));
    expect((job.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual([
      `${JOB}/internal_ec2_logs/`,
      `${JOB}/logs/`,
      `${JOB}/process_results/`,
    ]);
    const results = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "debuggers/results/", Delimiter: "/" }),
    );
    expect((results.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual([`${JOB}/`]);
  });

  describe("pagination over random keys (unicode, spaces, '+', '%', trailing '/') matches S3's rules", () => {
    beforeAll(() => seed(RANDOM_KEYS.map((k) => `rnd/${k}`)));

    it.each([
      ["rnd/", "/", 1],
      ["rnd/", "/", 3],
      ["rnd/a/", "/", 2],
      ["rnd/a", "/", 4],
      ["rnd/", "", 7],
      ["rnd/", "-", 5],
      ["rnd/", "b", 3],
      ["rnd/z/", "/", 1000],
    ] as const)(
      "V2 prefix %j delimiter %j MaxKeys %i: every key and common prefix once, in order",
      async (prefix, delimiter, maxKeys) => {
        const keys = RANDOM_KEYS.map((k) => `rnd/${k}`);
        const { entries } = await v2Pages(prefix, delimiter, maxKeys);
        expect(entries).toEqual(model(keys, prefix, delimiter));
      },
    );

    it("V2 StartAfter (a key, and a common prefix) resumes after it", async () => {
      const keys = RANDOM_KEYS.map((k) => `rnd/${k}`);
      for (const after of ["rnd/a/b", "rnd/a/", "rnd/é"]) {
        expect((await v2Pages("rnd/", "/", 2, after)).entries).toEqual(model(keys, "rnd/", "/", after));
      }
    });

    it("V1 markers: NextMarker (with a delimiter) and the last key (without) page through everything", async () => {
      const keys = RANDOM_KEYS.map((k) => `rnd/${k}`);
      for (const delimiter of ["/", ""]) {
        const entries: string[] = [];
        let marker: string | undefined;
        for (;;) {
          const page = await client.send(
            new ListObjectsCommand({
              Bucket: BUCKET,
              Prefix: "rnd/",
              ...(delimiter ? { Delimiter: delimiter } : {}),
              MaxKeys: 3,
              Marker: marker,
            }),
          );
          const got = [
            ...(page.Contents ?? []).map((c) => c.Key!),
            ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!),
          ].sort(utf8);
          entries.push(...got);
          if (!page.IsTruncated) break;
          marker = delimiter ? page.NextMarker : page.Contents![page.Contents!.length - 1].Key;
          expect(marker).toBeDefined();
        }
        expect(entries).toEqual(model(keys, "rnd/", delimiter));
      }
    });
  });

  it("EncodingType=url encodes keys and prefixes so that '+' and spaces survive", async () => {
    await seed(["enc/a b+c%d/x", "enc/plain"]);
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "enc/", Delimiter: "/", EncodingType: "url" }),
    );
    expect(page.EncodingType).toBe("url");
    expect((page.CommonPrefixes ?? []).map((p) => decodeURIComponent(p.Prefix!))).toEqual(["enc/a b+c%d/"]);
    expect((page.Contents ?? []).map((c) => decodeURIComponent(c.Key!))).toEqual(["enc/plain"]);
  });

  it("MaxKeys above 1000 returns 1000 and a continuation; MaxKeys=0 returns nothing; a forged token is refused", async () => {
    await seed(Array.from({ length: 1003 }, (_, i) => `many/${String(i).padStart(4, "0")}`));
    const first = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "many/", MaxKeys: 5000 }));
    expect([first.KeyCount, first.IsTruncated]).toEqual([1000, true]);
    const rest = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "many/", ContinuationToken: first.NextContinuationToken }),
    );
    expect((rest.Contents ?? []).map((c) => c.Key)).toEqual(["many/1000", "many/1001", "many/1002"]);
    const none = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "many/", MaxKeys: 0 }));
    expect([none.KeyCount, none.IsTruncated, none.Contents]).toEqual([0, false, undefined]);
    const forged = await rawRequest(s3.endpoint, {
      method: "GET",
      path: `/${BUCKET}`,
      query: { "list-type": "2", "continuation-token": "bm90LWEtdG9rZW4=" },
      credentials: s3.credentials,
    });
    expect([forged.status, errorCode(forged)]).toEqual([400, "InvalidArgument"]);
  });
});
