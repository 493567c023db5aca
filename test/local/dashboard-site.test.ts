/**
 * The dashboard on the local endpoint's origin (`/_dashboard/`), its config.json, and the
 * endpoint's AbortMultipartUpload (s3rver has none; the dashboard cancels uploads with it).
 */
import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { dashboardSite, localDashboardConfig, type LocalDashboardArgs } from "../../local/dashboard-site";
import { createLocalS3Client, startLocalS3Server, type LocalS3Server } from "../../local/s3-server";
import { runtimeConfig } from "../support/protocol-env";

const ADMIN = "AKIAADMINADMINADMIN1";
const ALICE = "AKIAALICEALICEALICE1";
const args: LocalDashboardArgs = {
  analyses: new Map([
    [
      "ana",
      runtimeConfig({
        bucketName: "ana",
        instanceType: "t3.micro",
        allowedInstanceTypes: ["t3.small", "x9.huge"],
        affiliates: [
          { AffiliateName: "lab", UserInput: true },
          { AffiliateName: "other", UserInput: true },
        ],
      }),
    ],
  ]),
  prices: {
    hourlyPrice: async (t) => {
      if (t === "x9.huge") throw new Error("no price");
      return t === "t3.micro" ? 0.0104 : 0.0208;
    },
  },
  credentialsFile: "/data/credentials",
  keyMemberships: () =>
    new Map<string, "all" | { bucket: string; group: string }[]>([
      [ADMIN, "all"],
      [ALICE, [{ bucket: "ana", group: "lab" }]],
    ]),
};

let server: LocalS3Server;
let client: S3Client;
beforeAll(async () => {
  let endpoint = "";
  server = await startLocalS3Server({ buckets: ["ana"], site: dashboardSite(args, () => endpoint) });
  endpoint = server.endpoint;
  client = createLocalS3Client(server);
}, 60_000);
afterAll(async () => {
  client.destroy();
  await server.close();
});

describe("local dashboard site", () => {
  it("describes the analyses, prices and sign-in, never a secret, and each key's groups by digest", async () => {
    const config = await localDashboardConfig(args, "http://127.0.0.1:1");
    expect(config).toMatchObject({ mode: "local", endpoint: "http://127.0.0.1:1", forcePathStyle: true });
    expect(config.analyses).toEqual([
      expect.objectContaining({
        bucket: "ana",
        groups: ["lab", "other"],
        instanceTypes: { default: "t3.micro", allowed: ["t3.small", "x9.huge"] },
        prices: { "t3.micro": 0.0104, "t3.small": 0.0208 },
        defaultBudget: 300,
      }),
    ]);
    const digest = (id: string) => createHash("sha256").update(id).digest("hex");
    expect(config.signIn.keys!.memberships).toEqual({
      [digest(ADMIN)]: "all",
      [digest(ALICE)]: [{ bucket: "ana", group: "lab" }],
    });
    expect(JSON.stringify(config)).not.toContain(ALICE);
    expect(config.signIn.keys!.hint).toContain("/data/credentials");
  });

  it("serves the app with its security headers, conditional requests and read-only methods", async () => {
    const index = await fetch(`${server.endpoint}/_dashboard/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/text\/html/);
    expect(index.headers.get("content-security-policy")).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(index.headers.get("x-content-type-options")).toBe("nosniff");
    const entry = /src="(app-[A-Z0-9]+\.js)"/.exec(await index.text())![1];
    const app = await fetch(`${server.endpoint}/_dashboard/${entry}`);
    expect(app.headers.get("content-type")).toMatch(/javascript/);
    const again = await fetch(`${server.endpoint}/_dashboard/${entry}`, {
      headers: { "If-None-Match": app.headers.get("etag")! },
    });
    expect(again.status).toBe(304);
    const config = (await (await fetch(`${server.endpoint}/_dashboard/config.json`)).json()) as { endpoint: string };
    expect(config.endpoint).toBe(server.endpoint);
    expect((await fetch(`${server.endpoint}/_dashboard/nope.js`)).status).toBe(404);
    expect((await fetch(`${server.endpoint}/_dashboard/config.json`, { method: "POST", body: "x" })).status).toBe(405);
    const bare = await fetch(`${server.endpoint}/_dashboard`, { redirect: "manual" });
    expect([bare.status, bare.headers.get("location")]).toEqual([301, "/_dashboard/"]);
    // Everything else is still the signed S3 endpoint.
    expect((await fetch(`${server.endpoint}/ana/lab/configs/x`)).status).toBe(403);
  }, 60_000);

  it("aborts a multipart upload: its parts are gone and it can no longer complete", async () => {
    const Key = "lab/inputs/big.bin";
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "ana", Key }));
    await client.send(
      new UploadPartCommand({ Bucket: "ana", Key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }),
    );
    const aborted = await client.send(new AbortMultipartUploadCommand({ Bucket: "ana", Key, UploadId }));
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    await expect(
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: "ana",
          Key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: "x" }] },
        }),
      ),
    ).rejects.toMatchObject({ name: "NoSuchUpload" });
    await expect(client.send(new AbortMultipartUploadCommand({ Bucket: "ana", Key, UploadId }))).rejects.toMatchObject({
      name: "NoSuchUpload",
    });
  });
});
