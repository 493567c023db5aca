import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import type { BudgetSource, ExemptionSource } from "../deps";
import { parseBudgetValue } from "../budget";
import { awsErrorCode } from "../retry";
import { JobError } from "../errors";

async function getParameter(ssm: SSMClient, name: string): Promise<string | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return out.Parameter?.Value;
  } catch (err) {
    if (awsErrorCode(err) === "ParameterNotFound") return undefined;
    throw err;
  }
}

/** Budgets from parameter store: `{prefix}/{group}/{bucket}` holds USD. */
export class ParameterStoreBudgets implements BudgetSource {
  constructor(
    private readonly ssm: SSMClient,
    private readonly prefix: string,
  ) {}

  async budgetFor(group: string, analysis: string): Promise<number | undefined> {
    const name = `${this.prefix.replace(/\/+$/, "")}/${group}/${analysis}`;
    const value = await getParameter(this.ssm, name);
    if (value === undefined) return undefined;
    const budget = parseBudgetValue(value);
    if (budget === undefined)
      throw new JobError(
        `The budget parameter ${name} holds ${JSON.stringify(value)}, not an amount in USD. Contact NeuroCAAS administrator.`,
      );
    return budget;
  }
}

const EXEMPT_INSTANCES_PARAMETER = "exempt_instances";

/** Exempt instance ids from a parameter: a StringList (`i-1,i-2`) or a JSON list. */
export class ParameterStoreExemptions implements ExemptionSource {
  constructor(
    private readonly ssm: SSMClient,
    private readonly name: string = EXEMPT_INSTANCES_PARAMETER,
  ) {}

  async exemptInstances(): Promise<readonly string[]> {
    const value = await getParameter(this.ssm, this.name);
    return value === undefined ? [] : parseInstanceList(value);
  }
}

export function parseInstanceList(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith("[")) {
    const parsed = JSON.parse(trimmed) as unknown;
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === "string") : [];
  }
  return trimmed
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
