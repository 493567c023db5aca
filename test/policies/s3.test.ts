import type { RecordedResource } from "../../cli/plan/record";
import { aclsDisabled, encryption, publicAccessBlock, webdevNoCors } from "../../policies/s3";
import { oneNotificationPerBucket } from "../../policies/stack";
import {
  DEMO_BLUEPRINT,
  addCopy,
  devStackConfig,
  find,
  mutate,
  ofType,
  recordStack,
  violationsOf,
  without,
} from "./support";

jest.mock("../../components/lambda-bundle", () => jest.requireActual("./support").bundleMock());

const BUCKET = "aws:s3/bucket:Bucket";
const PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls";
const CORS = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration";
const NOTIFICATION = "aws:s3/bucketNotification:BucketNotification";

let webdev: RecordedResource[];
let websubstack: RecordedResource[];
beforeAll(async () => {
  webdev = await recordStack(devStackConfig());
  websubstack = await recordStack(devStackConfig({ ...DEMO_BLUEPRINT, STAGE: "websubstack" }), "web");
}, 180_000);

describe("neurocaas-s3-public-access-block", () => {
  it("passes the component's bucket", async () => {
    expect(await violationsOf([publicAccessBlock], webdev)).toEqual([]);
  });

  it("fails a block with a setting off", async () => {
    const bad = mutate(webdev, ofType(PAB), (p) => {
      p.blockPublicPolicy = false;
    });
    expect((await violationsOf([publicAccessBlock], bad))[0].message).toMatch(/leaves blockPublicPolicy off/);
  });

  it("fails a bucket without a block", async () => {
    expect((await violationsOf([publicAccessBlock], without(webdev, ofType(PAB))))[0].message).toMatch(
      /'neurocaas-demo' has no public access block/,
    );
  });
});

describe("neurocaas-s3-encryption", () => {
  it("passes SSE-S3", async () => {
    expect(await violationsOf([encryption], webdev)).toEqual([]);
  });

  it("fails a bucket without encryption", async () => {
    expect((await violationsOf([encryption], without(webdev, ofType(SSE))))[0].message).toMatch(
      /declares no server-side encryption/,
    );
  });

  it("fails an encryption rule without an algorithm", async () => {
    const bad = mutate(webdev, ofType(SSE), (p) => {
      p.rules = [{ bucketKeyEnabled: true }];
    });
    expect((await violationsOf([encryption], bad))[0].message).toMatch(/no rule with an SSE algorithm/);
  });
});

describe("neurocaas-s3-acls-disabled", () => {
  it("passes BucketOwnerEnforced", async () => {
    expect(await violationsOf([aclsDisabled], webdev)).toEqual([]);
  });

  it("fails ObjectWriter ownership", async () => {
    const bad = mutate(webdev, ofType(OWNERSHIP), (p) => {
      p.rule = { objectOwnership: "ObjectWriter" };
    });
    expect((await violationsOf([aclsDisabled], bad))[0].message).toMatch(/ACLs stay enabled/);
  });

  it("fails a canned ACL on the bucket", async () => {
    const bad = mutate(webdev, ofType(BUCKET), (p) => {
      p.acl = "public-read";
    });
    expect((await violationsOf([aclsDisabled], bad))[0].message).toMatch(/sets an ACL \(public-read\)/);
  });
});

describe("neurocaas-s3-webdev-no-cors", () => {
  it("passes a websubstack bucket with CORS and a webdev bucket without", async () => {
    expect(websubstack.some((r) => r.type === CORS)).toBe(true);
    expect(webdev.some((r) => r.type === CORS)).toBe(false);
    expect(await violationsOf([webdevNoCors], websubstack)).toEqual([]);
    expect(await violationsOf([webdevNoCors], webdev)).toEqual([]);
  });

  it("fails CORS on a webdev bucket", async () => {
    // The websubstack stack relabelled webdev: what a component regression would deploy.
    const bad = mutate(websubstack, ofType(BUCKET), (p) => {
      (p.tags as Record<string, string>)["neurocaas:stage"] = "webdev";
    });
    expect((await violationsOf([webdevNoCors], bad))[0].message).toMatch(
      /Webdev bucket 'neurocaas-demo' has CORS rules \(origins: https:\/\/neurocaas.org/,
    );
  });
});

describe("neurocaas-one-notification-per-bucket", () => {
  it("passes the single notification configuration", async () => {
    expect(await violationsOf([oneNotificationPerBucket], webdev)).toEqual([]);
    expect(await violationsOf([oneNotificationPerBucket], websubstack)).toEqual([]);
  });

  it("fails a second notification configuration on the bucket", async () => {
    const bad = addCopy(webdev, find(webdev, ofType(NOTIFICATION)), "second-notification");
    expect((await violationsOf([oneNotificationPerBucket], bad))[0].message).toMatch(
      /'neurocaas-demo' has 2 notification configurations/,
    );
  });

  it("fails an analysis bucket without one", async () => {
    expect((await violationsOf([oneNotificationPerBucket], without(webdev, ofType(NOTIFICATION))))[0].message).toMatch(
      /submit files would never start a job/,
    );
  });
});

// Internal helpers of @pulumi/policy (untyped): the engine-side proxy and its unknown sentinel.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy, unknownStringValue } = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T>(o: T): T;
  unknownStringValue: string;
};

describe("during a real preview, before the bucket exists", () => {
  // The engine hands policies proxies that throw on unknown values; a sub-resource's `bucket`
  // (the new bucket's id) is unknown, so the policies link it to the bucket by dependency.
  const previewOf = (resources: RecordedResource[]) =>
    resources.map((r) =>
      [PAB, SSE, OWNERSHIP, CORS, NOTIFICATION].includes(r.type)
        ? {
            ...r,
            inputs: unknownCheckingProxy({ ...r.inputs, bucket: unknownStringValue }),
            outputs: unknownCheckingProxy({ ...r.outputs, bucket: unknownStringValue }),
          }
        : r,
    );

  it("still checks the bucket's public access block, encryption, ownership, CORS and notification", async () => {
    const all = [publicAccessBlock, encryption, aclsDisabled, webdevNoCors, oneNotificationPerBucket];
    expect(await violationsOf(all, previewOf(webdev))).toEqual([]);
    expect(await violationsOf(all, previewOf(websubstack))).toEqual([]);
    const bad = previewOf(
      mutate(webdev, ofType(PAB), (p) => {
        p.restrictPublicBuckets = false;
      }),
    );
    expect((await violationsOf(all, bad)).map((v) => v.message)).toEqual([
      expect.stringMatching(/leaves restrictPublicBuckets off/),
    ]);
  });
});
