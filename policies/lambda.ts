import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { isJobManagerLambda, isKind, record, str } from "./resources";
import { P } from "./props";

/**
 * Lambda runtimes and the date AWS deprecated (or deprecates) them
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). A runtime is reported
 * once its date has passed; runtimes not listed are current.
 */
export const RUNTIME_DEPRECATION_DATES: Readonly<Record<string, string>> = {
  nodejs: "2016-10-31",
  "nodejs4.3": "2020-03-05",
  "nodejs6.10": "2019-08-12",
  "nodejs8.10": "2020-03-06",
  "nodejs10.x": "2021-07-30",
  "nodejs12.x": "2023-03-31",
  "nodejs14.x": "2023-12-04",
  "nodejs16.x": "2024-06-12",
  "nodejs18.x": "2025-09-01",
  "nodejs20.x": "2026-04-30",
  "python2.7": "2021-07-15",
  "python3.6": "2022-07-18",
  "python3.7": "2023-12-04",
  "python3.8": "2024-10-14",
  "python3.9": "2025-12-15",
  java8: "2024-01-08",
  "go1.x": "2024-01-08",
  provided: "2024-01-08",
  "ruby2.5": "2021-07-30",
  "ruby2.7": "2023-12-07",
  "ruby3.2": "2026-03-31",
  "dotnetcore1.0": "2019-07-30",
  "dotnetcore2.0": "2019-05-30",
  "dotnetcore2.1": "2022-01-05",
  "dotnetcore3.1": "2023-04-03",
  "dotnet5.0": "2022-05-10",
  dotnet6: "2024-12-20",
  dotnet7: "2024-05-14",
};

/** Whether `runtime` is deprecated on `date` (YYYY-MM-DD or Date). */
export function isDeprecatedRuntime(runtime: string, date: Date = new Date()): boolean {
  const since = RUNTIME_DEPRECATION_DATES[runtime];
  return since !== undefined && new Date(`${since}T00:00:00Z`).getTime() <= date.getTime();
}

export const lambdaRuntime: ResourceValidationPolicy = {
  name: "neurocaas-lambda-runtime",
  description: "Lambdas use a runtime AWS still supports (this project: nodejs22.x or newer).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!isKind(args.type, "lambda")) return;
    const runtime = str(args.props, P.lambdaRuntime);
    if (runtime !== undefined && isDeprecatedRuntime(runtime)) {
      report(
        `Lambda '${args.name}' uses runtime ${runtime}, deprecated by AWS since ${RUNTIME_DEPRECATION_DATES[runtime]}.`,
      );
    }
  },
};

/**
 * S3 invokes the job manager asynchronously: after Lambda's retries a failed submission is
 * dropped unless the function has a dead-letter queue or an on-failure destination.
 */
export const jobManagerDeadLetter: StackValidationPolicy = {
  name: "neurocaas-job-manager-dead-letter",
  description: "The asynchronously invoked job-manager Lambda has a dead-letter queue or an on-failure destination.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const invokeConfigs = args.resources.filter((r) => isKind(r.type, "eventInvokeConfig"));
    for (const fn of args.resources) {
      if (!isKind(fn.type, "lambda") || !isJobManagerLambda(fn.name, fn.props)) continue;
      const dlq = str(record(fn.props[P.lambdaDeadLetter]) ?? {}, "targetArn");
      const refs = new Set([str(fn.props, "name"), str(fn.props, "arn")].filter(Boolean));
      const onFailure = invokeConfigs.some((c) => {
        const target = str(
          record(record(record(c.props[P.invokeConfigDestination])?.onFailure) ?? {}) ?? {},
          "destination",
        );
        const fnRef = str(c.props, P.invokeConfigFunction) ?? "";
        return (
          target !== undefined &&
          target !== "" &&
          (refs.has(fnRef) || [...refs].some((r) => r && fnRef.startsWith(`${r}:`)))
        );
      });
      if (!dlq && !onFailure) {
        report(
          `Job-manager Lambda '${fn.name}' has no dead-letter queue and no on-failure destination; failed submissions would vanish.`,
          fn.urn,
        );
      }
    }
  },
};

export const lambdaPolicies = [lambdaRuntime, jobManagerDeadLetter];
