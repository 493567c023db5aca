import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { bundleHandler, inlineConstantKeys } from "../../components/lambda-bundle";
import { probe, type ProbeResult } from "../support/sdk-probe";

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Headers that differ between two runs of the same call (time, signature, SDK bookkeeping). */
const VOLATILE = new Set([
  "authorization",
  "x-amz-date",
  "amz-sdk-invocation-id",
  "amz-sdk-request",
  "user-agent",
  "x-amz-user-agent",
  "host",
  "connection",
  "x-amz-security-token",
]);

const EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/";

/** A minimal answer per call, enough for every response parser to produce structured output. */
function answer(req: SeenRequest): { status: number; headers: Record<string, string>; body: string } {
  const xml = (body: string) => ({ status: 200, headers: { "content-type": "text/xml" }, body });
  const json = (value: unknown) => ({
    status: 200,
    headers: { "content-type": "application/x-amz-json-1.1" },
    body: JSON.stringify(value),
  });
  const target = req.headers["x-amz-target"];
  if (req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")) {
    const action = new URLSearchParams(req.body).get("Action") ?? "";
    if (action === "GetMetricStatistics") {
      return xml(
        `<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricStatisticsResult><Label>CPUUtilization</Label><Datapoints><member><Average>1.5</Average><Unit>Percent</Unit><Timestamp>2026-01-01T00:05:00Z</Timestamp></member></Datapoints></GetMetricStatisticsResult></GetMetricStatisticsResponse>`,
      );
    }
    const body: Record<string, string> = {
      DescribeImages: `<imagesSet><item><imageId>ami-1</imageId><rootDeviceName>/dev/sda1</rootDeviceName><blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><volumeSize>8</volumeSize></ebs></item></blockDeviceMapping></item></imagesSet>`,
      RunInstances: `<reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId><amiLaunchIndex>0</amiLaunchIndex><instanceType>m5.xlarge</instanceType><instanceLifecycle>spot</instanceLifecycle></item><item><instanceId>i-2</instanceId><amiLaunchIndex>1</amiLaunchIndex></item></instancesSet>`,
      DescribeInstances: `<reservationSet><item><instancesSet><item><instanceId>i-1</instanceId><imageId>ami-1</imageId><instanceState><code>16</code><name>running</name></instanceState><instanceType>m5.xlarge</instanceType><launchTime>2026-01-01T00:00:00.000Z</launchTime><clientToken>token-od</clientToken><amiLaunchIndex>0</amiLaunchIndex><stateReason><code>Server.SpotInstanceTermination</code><message>m</message></stateReason><tagSet><item><key>neurocaas:job</key><value>job__b_t</value></item></tagSet><blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><volumeId>vol-1</volumeId></ebs></item></blockDeviceMapping></item></instancesSet></item></reservationSet><nextToken>n2</nextToken>`,
      TerminateInstances: `<instancesSet><item><instanceId>i-1</instanceId><currentState><code>32</code><name>shutting-down</name></currentState></item></instancesSet>`,
      StopInstances: `<instancesSet><item><instanceId>i-3</instanceId><currentState><code>64</code><name>stopping</name></currentState></item></instancesSet>`,
      CreateTags: `<return>true</return>`,
    };
    return xml(
      `<${action}Response xmlns="${EC2_NS}"><requestId>req-1</requestId>${body[action] ?? ""}</${action}Response>`,
    );
  }
  if (target?.startsWith("AmazonSSM.")) {
    const out: Record<string, unknown> = {
      SendCommand: { Command: { CommandId: "c-1", Status: "Pending", Comment: "neurocaas delivery d-1" } },
      GetCommandInvocation: {
        CommandId: "c-1",
        InstanceId: "i-1",
        Status: "Failed",
        StatusDetails: "Failed",
        ResponseCode: 4,
        StandardErrorContent: "broken\n",
      },
      ListCommandInvocations: {
        CommandInvocations: [
          { CommandId: "c-1", InstanceId: "i-1", Comment: "neurocaas delivery d-1", Status: "InProgress" },
        ],
      },
      ListCommands: { Commands: [{ CommandId: "c-1", Status: "InProgress" }] },
      GetParameter: { Parameter: { Name: "/neurocaas/budgets/g/b", Value: "12.5", Type: "String" } },
    };
    return json(out[target.slice("AmazonSSM.".length)] ?? {});
  }
  if (target?.startsWith("AWSPriceListService."))
    return json({ FormatVersion: "aws_v1", PriceList: ['{"terms":{"OnDemand":{}}}'] });
  // S3 (path style: /bucket/key)
  if (req.method === "GET" && req.url.includes("list-type=2")) {
    return xml(
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>g/results/</Prefix><KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>t2</NextContinuationToken><Contents><Key>g/results/x</Key><Size>3</Size><ETag>"e"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents></ListBucketResult>`,
    );
  }
  if (req.method === "GET")
    return {
      status: 200,
      headers: { "content-type": "application/json", etag: '"e1"', "content-length": "13" },
      body: '{"end":null}\n',
    };
  if (req.method === "HEAD")
    return {
      status: 200,
      headers: { etag: '"e2"', "content-length": "5", "last-modified": "Thu, 01 Jan 2026 00:00:00 GMT" },
      body: "",
    };
  if (req.method === "DELETE") return { status: 204, headers: {}, body: "" };
  if (req.method === "PUT" && req.headers["x-amz-copy-source"]) {
    return xml(
      `<CopyObjectResult><ETag>"e3"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>`,
    );
  }
  return { status: 200, headers: { etag: '"e4"' }, body: "" };
}

async function withFakeAws<T>(run: (endpoint: string) => Promise<T>): Promise<{ result: T; requests: SeenRequest[] }> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers)
          .filter(([k]) => !VOLATILE.has(k))
          .map(([k, v]) => [k, String(v)]),
      );
      const seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(seen);
      const a = answer(seen);
      res.writeHead(a.status, a.headers);
      res.end(req.method === "HEAD" ? undefined : a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const result = await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return { result, requests };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("Lambda bundles", () => {
  it("inline only top-level constant property keys of the SDK's schema modules", () => {
    const source = [
      'const _a = "alpha";',
      'const _b = "with \\"quote\\"";',
      "let _c = 1;",
      "export var X$ = [3, n0, { [_a]: 1,",
      "    [_b]: `t`, [_c]: 2, [other]: 3 }];",
    ].join("\n");
    expect(inlineConstantKeys(source)).toBe(
      [
        'const _a = "alpha";',
        'const _b = "with \\"quote\\"";',
        "let _c = 1;",
        'export var X$ = [3, n0, { "alpha": 1,',
        '    "with \\"quote\\"": `t`, [_c]: 2, [other]: 3 }];',
      ].join("\n"),
    );
  });

  it("send every AWS request the handlers make exactly as the tested SDK does, and parse the answers the same", async () => {
    const tested = await withFakeAws((endpoint) => probe(endpoint));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nc-bundle-probe-"));
    try {
      const file = path.join(dir, "probe.js");
      fs.writeFileSync(file, await bundleHandler("test/support/sdk-probe.ts"));
      const bundled = await withFakeAws(async (endpoint) => {
        const { stdout } = await promisify(execFile)(
          process.execPath,
          ["-e", `require(${JSON.stringify(file)}).handler()`],
          { env: { PATH: process.env.PATH, PROBE_ENDPOINT: endpoint } },
        );
        return JSON.parse(stdout) as ProbeResult[];
      });
      expect(bundled.requests).toEqual(tested.requests);
      expect(bundled.result).toEqual(tested.result);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // The answers were understood (not all errors), so the comparison covers the parsers too.
    const byCall = new Map(tested.result.map((r) => [r.call, r]));
    expect(byCall.get("DescribeInstances")?.output).toMatchObject({
      NextToken: "n2",
      Reservations: [
        {
          Instances: [
            {
              InstanceId: "i-1",
              StateReason: { Code: "Server.SpotInstanceTermination" },
              Tags: [{ Key: "neurocaas:job" }],
            },
          ],
        },
      ],
    });
    expect(byCall.get("GetCommandInvocation")?.output).toMatchObject({
      Status: "Failed",
      ResponseCode: 4,
      StandardErrorContent: "broken\n",
    });
    expect(byCall.get("GetObject")?.output).toBe('{"end":null}\n');
    expect(tested.requests.map((r) => r.method)).toHaveLength(19);
  });
});
