/**
 * The AWS CLI's listings against the local endpoint (issue 12): `aws s3 ls` shows folders no object
 * sits directly in, and paginated s3api listings and a recursive ls return every key once (the
 * rules themselves, with the SDK: listing.test.ts). Skipped with a warning without the `aws` CLI.
 */
import { execFile, execFileSync } from "node:child_process";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createLocalS3Client, startLocalS3Server, type LocalS3Server } from "../../local/s3-server";
import { mapBounded } from "../../protocols/concurrency";
import { BUCKET, FOLDER_KEYS, JOB, RANDOM_KEYS, model, utf8 } from "./support/listing-model";

jest.setTimeout(120_000);

describe("the AWS CLI lists the local endpoint as it lists S3", () => {
  let s3: LocalS3Server;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startLocalS3Server({ buckets: [BUCKET] });
    client = createLocalS3Client(s3);
    const keys = [...FOLDER_KEYS, ...RANDOM_KEYS.map((k) => `rnd/${k}`)];
    await mapBounded(keys, 20, (Key) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key })));
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  const hasAws = (() => {
    try {
      execFileSync("aws", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  if (!hasAws) console.warn("listing-aws-cli.e2e.test.ts: the aws CLI is not installed; its listing tests are skipped");
  const aws = (...args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        "aws",
        ["--endpoint-url", s3.endpoint, ...args],
        {
          env: {
            ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_"))),
            AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
            AWS_DEFAULT_REGION: "us-east-1",
            AWS_CONFIG_FILE: "/nonexistent",
            AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
          },
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, stdout, stderr) => (err ? reject(new Error(`aws ${args.join(" ")}: ${stderr}`)) : resolve(stdout)),
      ),
    );

  (hasAws ? it : it.skip)(
    "AWS CLI: `aws s3 ls` shows the group folders and a job folder's internal_ec2_logs/",
    async () => {
      const root = await aws("s3", "ls", `s3://${BUCKET}/`);
      for (const p of ["debuggers/", "logs/", "other-lab/"]) expect(root).toContain(`PRE ${p}`);
      const job = await aws("s3", "ls", `s3://${BUCKET}/${JOB}/`);
      expect(
        job
          .split("\n")
          .map((l) => l.trim())
          .filter(Boolean),
      ).toEqual(["PRE internal_ec2_logs/", "PRE logs/", "PRE process_results/"]);
    },
  );

  (hasAws ? it : it.skip)(
    "AWS CLI: paginated list-objects-v2, list-objects and a recursive ls return every key once",
    async () => {
      const keys = RANDOM_KEYS.map((k) => `rnd/${k}`);
      const v2 = JSON.parse(
        await aws(
          "s3api",
          "list-objects-v2",
          "--bucket",
          BUCKET,
          "--prefix",
          "rnd/",
          "--delimiter",
          "/",
          "--page-size",
          "2",
        ),
      ) as { Contents?: { Key: string }[]; CommonPrefixes?: { Prefix: string }[] };
      expect(
        [...(v2.Contents ?? []).map((c) => c.Key), ...(v2.CommonPrefixes ?? []).map((p) => p.Prefix)].sort(utf8),
      ).toEqual(model(keys, "rnd/", "/"));
      const v1 = JSON.parse(
        await aws(
          "s3api",
          "list-objects",
          "--bucket",
          BUCKET,
          "--prefix",
          "rnd/",
          "--delimiter",
          "/",
          "--page-size",
          "3",
        ),
      ) as typeof v2;
      expect(
        [...(v1.Contents ?? []).map((c) => c.Key), ...(v1.CommonPrefixes ?? []).map((p) => p.Prefix)].sort(utf8),
      ).toEqual(model(keys, "rnd/", "/"));
      const recursive = await aws("s3", "ls", "--recursive", "--page-size", "7", `s3://${BUCKET}/rnd/`);
      const listed = recursive
        .split("\n")
        .filter(Boolean)
        .map((l) => l.replace(/^\S+ \S+ +\d+ /, ""));
      expect(listed.sort(utf8)).toEqual([...keys].sort(utf8));
    },
  );
});
