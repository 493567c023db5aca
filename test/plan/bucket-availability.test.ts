import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HeadBucketCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { checkBucketAvailability, hasAwsCredentials } from "../../cli/plan/bucket-availability";

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const failure = (status: number, name: string) =>
  new S3ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message: name });

describe("bucket availability (neurocaas plan with credentials)", () => {
  it("tells free, own, foreign and unreachable bucket names apart", async () => {
    s3.on(HeadBucketCommand, { Bucket: "free-name" }).rejects(failure(404, "NotFound"));
    s3.on(HeadBucketCommand, { Bucket: "ours" }).resolves({});
    s3.on(HeadBucketCommand, { Bucket: "caiman-ncap-web" }).rejects(failure(403, "Forbidden"));
    s3.on(HeadBucketCommand, { Bucket: "elsewhere" }).rejects(failure(301, "PermanentRedirect"));
    s3.on(HeadBucketCommand, { Bucket: "flaky" }).rejects(new Error("socket hang up"));
    const result = await checkBucketAvailability(
      new S3Client({ region: "us-east-1" }),
      ["free-name", "ours", "caiman-ncap-web", "elsewhere", "flaky"],
      { ours: "ours-bucket" },
    );
    expect(result.map((r) => [r.bucket, r.status])).toEqual([
      ["free-name", "available"],
      ["ours", "exists-accessible"],
      ["caiman-ncap-web", "taken"],
      ["elsewhere", "taken"],
      ["flaky", "unknown"],
    ]);
    expect(result[1].message).toContain("pulumi import aws:s3/bucket:Bucket ours-bucket ours");
    expect(result[2].message).toMatch(/another account .*set neurocaas:bucketName to a free name/);
    expect(s3.commandCalls(HeadBucketCommand)).toHaveLength(5);
  });

  it("checks only with explicit credentials (never probing instance metadata)", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "home-"));
    try {
      expect(hasAwsCredentials({}, home)).toBe(false);
      expect(hasAwsCredentials({ AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "x" }, home)).toBe(true);
      expect(hasAwsCredentials({ AWS_PROFILE: "admin" }, home)).toBe(true);
      fs.mkdirSync(path.join(home, ".aws"));
      fs.writeFileSync(path.join(home, ".aws", "credentials"), "[default]\n");
      expect(hasAwsCredentials({}, home)).toBe(true);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
