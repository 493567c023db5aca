import { randomUUID } from "node:crypto";
import { encodeEventKey } from "../model/layout";
import type { AnalysisRuntimeConfig } from "../model/runtime-config";
import { formatIsoSeconds } from "../protocols/time-format";
import { notificationFiltersFor, notificationTarget } from "../components/notifications";
import type { LocalS3Event } from "./s3-server";

/** Which handler an object-created notification goes to (what the analysis' S3 trigger would invoke). */
export type S3Route = "submit" | "postprocess";

/**
 * The local equivalent of the bucket notification configuration: the very filters the analysis
 * stack deploys (components/notifications.ts). webdev: `*submit.json` under a listed affiliate's
 * `submissions/` (`results/` for `UserInput: false`); websubstack: any `*submit.json` (the job
 * manager then decides); with post-processing, keys ending in `process_results/{PostTrigger}`.
 */
export function routeObjectCreated(config: AnalysisRuntimeConfig, rawKey: string): S3Route | undefined {
  const target = notificationTarget(notificationFiltersFor(config), rawKey);
  return target === "job-manager" ? "submit" : target;
}

/** An S3 notification as Lambda receives it, with the key URL-encoded as real S3 encodes it. */
export interface LambdaS3Event {
  readonly Records: {
    readonly eventVersion: string;
    readonly eventSource: "aws:s3";
    readonly awsRegion: string;
    readonly eventTime: string;
    readonly eventName: string;
    readonly s3: {
      readonly s3SchemaVersion: "1.0";
      readonly bucket: { readonly name: string; readonly arn: string };
      readonly object: {
        readonly key: string;
        readonly size?: number;
        readonly eTag?: string;
        readonly sequencer?: string;
      };
    };
  }[];
}

export function lambdaS3Event(
  region: string,
  bucket: string,
  rawKey: string,
  eventName: string,
  size?: number,
  eTag?: string,
  time: Date = new Date(),
  sequencer?: string,
): LambdaS3Event {
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: region,
        eventTime: time.toISOString(),
        eventName,
        s3: {
          s3SchemaVersion: "1.0",
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeEventKey(rawKey),
            ...(size !== undefined ? { size } : {}),
            ...(eTag !== undefined ? { eTag } : {}),
            ...(sequencer !== undefined ? { sequencer } : {}),
          },
        },
      },
    ],
  };
}

export interface RoutedS3Event {
  readonly route: S3Route;
  readonly bucket: string;
  readonly event: LambdaS3Event;
}

/** Split an s3rver notification into one routed, Lambda-shaped event per matching record. */
export function routeLocalS3Event(
  configs: ReadonlyMap<string, AnalysisRuntimeConfig>,
  event: LocalS3Event,
): RoutedS3Event[] {
  const out: RoutedS3Event[] = [];
  for (const r of event.Records) {
    if (!r.eventName.startsWith("ObjectCreated:")) continue;
    const bucket = r.s3.bucket.name;
    const config = configs.get(bucket);
    if (!config) continue;
    const route = routeObjectCreated(config, r.s3.object.key);
    // s3rver's notifications carry S3's per-upload `sequencer` (not in LocalS3Event's declared shape).
    const sequencer = (r.s3.object as { sequencer?: string | number }).sequencer;
    if (route)
      out.push({
        route,
        bucket,
        event: lambdaS3Event(
          config.region,
          bucket,
          r.s3.object.key,
          r.eventName,
          r.s3.object.size,
          r.s3.object.eTag,
          undefined,
          sequencer === undefined ? undefined : String(sequencer),
        ),
      });
  }
  return out;
}

export type Ec2State = "pending" | "running" | "shutting-down" | "terminated" | "stopping" | "stopped";

/** An EC2 state-change notification as EventBridge delivers it to the monitor. */
export interface Ec2StateChangeEvent {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": "EC2 Instance State-change Notification";
  readonly source: "aws.ec2";
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: { readonly "instance-id": string; readonly state: Ec2State };
}

const LOCAL_ACCOUNT_ID = "000000000000";

export function ec2StateChangeEvent(
  region: string,
  instanceId: string,
  state: Ec2State,
  time: Date = new Date(),
): Ec2StateChangeEvent {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "EC2 Instance State-change Notification",
    source: "aws.ec2",
    account: LOCAL_ACCOUNT_ID,
    time: formatIsoSeconds(time),
    region,
    resources: [`arn:aws:ec2:${region}:${LOCAL_ACCOUNT_ID}:instance/${instanceId}`],
    detail: { "instance-id": instanceId, state },
  };
}

/** EventBridge's two-minute notice before AWS reclaims a spot instance (local mode injects it in tests). */
export function spotInterruptionWarningEvent(region: string, instanceId: string, time: Date = new Date()) {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "EC2 Spot Instance Interruption Warning",
    source: "aws.ec2",
    account: LOCAL_ACCOUNT_ID,
    time: formatIsoSeconds(time),
    region,
    resources: [`arn:aws:ec2:${region}:${LOCAL_ACCOUNT_ID}:instance/${instanceId}`],
    detail: { "instance-id": instanceId, "instance-action": "terminate" },
  } as const;
}
