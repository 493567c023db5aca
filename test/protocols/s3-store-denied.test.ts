/**
 * A bucket NeuroCAAS may not use answers every ObjectStore call with BucketUnavailableError (the
 * job manager's rejection names the bucket and tells the user what to do), also a HEAD request,
 * whose 403 has no body to name an error code: the SDK reports it as `Unknown`.
 */
import { newCredentials } from "../../local/keys";
import type { Principal } from "../../local/principals";
import { startLocalS3Server, type LocalS3Server } from "../../local/s3-server";
import { S3ObjectStore } from "../../protocols/aws/s3-store";
import { createS3Client } from "../../protocols/s3-client";
import { BucketUnavailableError } from "../../protocols/storage";

const MINE = "lab-bucket";
const THEIRS = "other-bucket";

let server: LocalS3Server;
let store: S3ObjectStore;

beforeAll(async () => {
  const admin = newCredentials();
  const user = newCredentials();
  const principal: Principal = {
    kind: "user",
    name: "alice",
    arn: "arn:aws:iam::000000000000:user/alice",
    policies: [
      {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:*", Resource: [`arn:aws:s3:::${MINE}`, `arn:aws:s3:::${MINE}/*`] }],
      },
    ],
  };
  server = await startLocalS3Server({
    buckets: [MINE, THEIRS],
    credentials: admin,
    keys: {
      lookup: (id) =>
        id === admin.accessKeyId
          ? { secretAccessKey: admin.secretAccessKey, principal: { kind: "admin", name: "admin", arn: "admin" } }
          : id === user.accessKeyId
            ? { secretAccessKey: user.secretAccessKey, principal }
            : undefined,
    },
  });
  store = new S3ObjectStore(
    createS3Client({ endpoint: server.endpoint, region: "us-east-1", credentials: user, maxAttempts: 1 }),
  );
});
afterAll(async () => {
  await server?.close();
});

it("the user's own bucket works", async () => {
  await store.put(MINE, "k", "v");
  expect(await store.exists(MINE, "k")).toBe(true);
});

it.each([
  ["exists (HEAD)", () => store.exists(THEIRS, "k")],
  ["get", () => store.get(THEIRS, "k")],
  ["prefixExists", () => store.prefixExists(THEIRS, "k")],
  ["put", () => store.put(THEIRS, "k", "v")],
])("%s on a bucket it may not use throws BucketUnavailableError naming the bucket", async (_name, call) => {
  const err = await (call as () => Promise<unknown>)().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BucketUnavailableError);
  expect(err).toMatchObject({ bucket: THEIRS, code: "AccessDenied" });
});
