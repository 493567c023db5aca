import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetProductsCommand, PricingClient } from "@aws-sdk/client-pricing";
import { mockClient } from "aws-sdk-client-mock";
import { BusyTime, modeledCall, RequestCounter } from "./counters";
import { SimulatedEc2 } from "./ec2-model";

/** Answers of the modeled AWS services. */
export interface ModeledAwsArgs {
  /** Fixed latency added to every EC2, SSM and Pricing call. */
  readonly latencyMs: number;
  readonly counter: RequestCounter;
  /** Trackers of the time with a modeled call in flight. */
  readonly busy: readonly BusyTime[];
  /** Parameter-store budget value for every group (USD, as text). */
  readonly budgetParameter: string;
  /** On-demand hourly price the Pricing API answers for every type. */
  readonly hourlyPrice: number;
}

export interface ModeledAws {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly pricing: PricingClient;
  readonly world: SimulatedEc2;
  restore(): void;
}

/** A Pricing API product document with one on-demand hourly price. */
function pricingProduct(usd: number): string {
  return JSON.stringify({
    terms: { OnDemand: { t: { priceDimensions: { d: { unit: "Hrs", pricePerUnit: { USD: String(usd) } } } } } },
  });
}

/**
 * EC2, SSM and Pricing clients whose calls never leave the process: each is counted, held for
 * `latencyMs` (the modeled network + service time) and answered from a SimulatedEc2.
 */
export function modeledAws(args: ModeledAwsArgs): ModeledAws {
  const world = new SimulatedEc2();
  const ec2 = new EC2Client({ region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
  const ssm = new SSMClient({ region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
  const pricing = new PricingClient({
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  const call = <T>(service: string, operation: string, fn: () => T) =>
    modeledCall({ counter: args.counter, busy: args.busy, service, operation, latencyMs: args.latencyMs }, fn);

  // Unmodeled operations fail loudly (set first: the specific answers below take precedence).
  const ec2Mock = mockClient(ec2);
  ec2Mock.onAnyCommand().callsFake(() => {
    throw new Error("modeled EC2: an operation the benchmark does not model was called");
  });
  ec2Mock.on(DescribeImagesCommand).callsFake((input: { ImageIds?: string[] }) =>
    call("EC2", "DescribeImages", () => ({
      Images: (input.ImageIds ?? []).map((ImageId) => ({ ImageId, RootDeviceName: "/dev/xvda" })),
    })),
  );
  ec2Mock
    .on(RunInstancesCommand)
    .callsFake((input) => call("EC2", "RunInstances", () => ({ Instances: world.runInstances(input) })));
  ec2Mock.on(CreateTagsCommand).callsFake((input) =>
    call("EC2", "CreateTags", () => {
      world.createTags(input.Resources ?? [], input.Tags ?? []);
      return {};
    }),
  );
  ec2Mock
    .on(DescribeInstancesCommand)
    .callsFake((input) =>
      call("EC2", "DescribeInstances", () => ({ Reservations: [{ Instances: world.describe(input.Filters ?? []) }] })),
    );
  ec2Mock.on(TerminateInstancesCommand).callsFake((input) =>
    call("EC2", "TerminateInstances", () => {
      world.terminate(input.InstanceIds ?? []);
      return { TerminatingInstances: [] };
    }),
  );

  const ssmMock = mockClient(ssm);
  ssmMock.onAnyCommand().callsFake(() => {
    throw new Error("modeled SSM: an operation the benchmark does not model was called");
  });
  ssmMock
    .on(GetParameterCommand)
    .callsFake((input: { Name?: string }) =>
      call("SSM", "GetParameter", () => ({ Parameter: { Name: input.Name, Value: args.budgetParameter } })),
    );

  const pricingMock = mockClient(pricing);
  pricingMock
    .on(GetProductsCommand)
    .callsFake(() => call("Pricing", "GetProducts", () => ({ PriceList: [pricingProduct(args.hourlyPrice)] })));

  return {
    ec2,
    ssm,
    pricing,
    world,
    restore() {
      ec2Mock.restore();
      ssmMock.restore();
      pricingMock.restore();
    },
  };
}
