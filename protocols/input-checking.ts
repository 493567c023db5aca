import Ajv, { type ErrorObject } from "ajv";
import addFormats from "ajv-formats";
import { JobError } from "./errors";
import { Submission, type ConfiguredJob } from "./submission";

/**
 * Input-checking protocol (SPEC 4.8): the config must satisfy the blueprint's JSON schema
 * (`configSchema`); every violation is listed in the certificate before any cost is incurred.
 */
export class InputCheckingSubmission extends Submission {
  override readonly protocol = "input-checking" as const;

  protected override async checkConfig(job: ConfiguredJob): Promise<string[]> {
    const schema = this.deps.config.configSchema;
    if (!schema)
      throw new JobError(
        "This analysis uses input checking but its blueprint carries no config schema (ConfigSchema). Contact NeuroCAAS administrator.",
      );
    return configProblems(schema, job.config.values);
  }
}

/** Every schema violation of a config, in words naming the key. */
function configProblems(schema: Record<string, unknown>, values: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  if (validate(values)) return [];
  return (validate.errors ?? []).map(describeError);
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath === "" ? "the config" : `key ${e.instancePath.slice(1).replace(/\//g, ".")}`;
  switch (e.keyword) {
    case "required":
      return `the config is missing the required key ${(e.params as { missingProperty: string }).missingProperty}.`;
    case "additionalProperties":
      return `the config has an unknown key ${(e.params as { additionalProperty: string }).additionalProperty}.`;
    case "enum":
      return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}.`;
    default:
      return `${where} ${e.message ?? "is invalid"}.`;
  }
}
