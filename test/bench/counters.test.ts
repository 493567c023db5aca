/** Request counting and busy-time tracking of the job-manager benchmark. No timing asserted. */
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { BusyTime, countRequests, modeledCall, RequestCounter, type MiddlewareClient } from "../../bench/counters";
import { createS3Client } from "../../protocols/s3-client";
import { startLocalS3Server, type LocalS3Server } from "../../local/s3-server";

describe("BusyTime", () => {
  it("counts overlapping intervals once and open intervals up to now", () => {
    let now = 0;
    const b = new BusyTime(() => now);
    b.begin(); // 0
    now = 10;
    b.begin(); // overlapping
    now = 15;
    b.end();
    now = 20;
    b.end(); // busy 0..20
    now = 30;
    b.begin();
    now = 35;
    expect(b.ms()).toBe(25);
    b.end();
    b.reset();
    expect(b.ms()).toBe(0);
    expect(() => b.end()).toThrow(/without begin/);
  });
});

describe("RequestCounter and modeledCall", () => {
  it("counts per service and operation, and marks the call busy while it waits", async () => {
    const counter = new RequestCounter();
    let now = 0;
    const busy = new BusyTime(() => now);
    const value = await modeledCall(
      { counter, busy: [busy], service: "EC2", operation: "RunInstances", latencyMs: 1 },
      () => {
        now = 7;
        return 42;
      },
    );
    expect(value).toBe(42);
    counter.add("EC2", "RunInstances", 2);
    expect(counter.of("EC2", "RunInstances")).toBe(3);
    expect(counter.total("EC2")).toBe(3);
    expect(counter.total("SSM")).toBe(0);
    expect(busy.ms()).toBe(7);
    const snap = counter.snapshot();
    counter.reset();
    expect(snap).toEqual({ EC2: { RunInstances: 3 } });
    expect(counter.snapshot()).toEqual({});
  });
  it("ends the busy interval when the call throws", async () => {
    const busy = new BusyTime();
    await expect(
      modeledCall({ counter: new RequestCounter(), busy: [busy], service: "S", operation: "O", latencyMs: 0 }, () =>
        Promise.reject(new Error("boom")),
      ),
    ).rejects.toThrow("boom");
    expect(() => busy.end()).toThrow(/without begin/);
  });
});

describe("countRequests on a real S3 client", () => {
  let server: LocalS3Server;
  let failNextGet = 0;
  beforeAll(async () => {
    server = await startLocalS3Server({
      buckets: ["b"],
      faults: (r) => (r.method === "GET" && r.key === "flaky.txt" && failNextGet-- > 0 ? 500 : undefined),
    });
  });
  afterAll(() => server.close());

  it("counts every HTTP attempt, retries included, and classifies by input", async () => {
    const client = createS3Client({
      endpoint: server.endpoint,
      credentials: { ...server.credentials },
      maxAttempts: 3,
    });
    const counter = new RequestCounter();
    const busy = new BusyTime();
    countRequests(
      client as unknown as MiddlewareClient,
      "S3",
      counter,
      (_op, input) => (String(input.Key).startsWith("logs/") ? "S3 logs" : undefined),
      [busy],
    );
    await client.send(new PutObjectCommand({ Bucket: "b", Key: "logs/a.json", Body: "{}" }));
    await client.send(new PutObjectCommand({ Bucket: "b", Key: "flaky.txt", Body: "x" }));
    failNextGet = 1;
    const got = await client.send(new GetObjectCommand({ Bucket: "b", Key: "flaky.txt" }));
    expect(await got.Body?.transformToString()).toBe("x");
    expect(counter.snapshot()).toEqual({ S3: { PutObject: 2, GetObject: 2 }, "S3 logs": { PutObject: 1 } });
    expect(busy.ms()).toBeGreaterThan(0);
    client.destroy();
  });
});
