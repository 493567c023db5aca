import type { ProtocolName } from "../model/blueprint/types";
import type { ProtocolDeps } from "./deps";
import { EnsembleSubmission } from "./ensemble";
import { InputCheckingSubmission } from "./input-checking";
import { Submission, type SubmitTarget } from "./submission";

type SubmissionClass = new (deps: ProtocolDeps, target: SubmitTarget) => Submission;

/** Protocol name → Submission subclass. */
const PROTOCOLS: Readonly<Record<ProtocolName, SubmissionClass>> = {
  default: Submission,
  ensemble: EnsembleSubmission,
  "input-checking": InputCheckingSubmission,
};

export function createSubmission(deps: ProtocolDeps, target: SubmitTarget): Submission {
  const cls = PROTOCOLS[deps.config.protocol];
  if (!cls)
    throw new Error(
      `Unknown protocol ${JSON.stringify(deps.config.protocol)}; expected one of ${Object.keys(PROTOCOLS).join(", ")}`,
    );
  return new cls(deps, target);
}
