import type { ProtocolName } from "./types";

/**
 * Legacy `Lambda.Handler` values of the original blueprints (`module.function`) → protocol.
 * The original's variants differed only in logging or in their development history
 * (`handler`, `handler_develop`, `handler_log*`, the per-analysis modules); all of them behave as
 * the default protocol here, except `handler_ensemble`.
 */
const LEGACY_HANDLERS: Readonly<Record<string, ProtocolName>> = {
  "submit_start.handler": "default",
  "submit_start.handler_develop": "default",
  "submit_start.handler_log": "default",
  "submit_start.handler_log_dev": "default",
  "submit_start.handler_log_demo": "default",
  "submit_start.handler_ensemble": "ensemble",
  "submit_start.handler_input_checking": "input-checking",
  "submit_start_legacy_wfield_preprocess.handler": "default",
  "submit.handler": "default",
};

/** Legacy `Lambda.PostHandler` values: each one is the post-processing chain protocol (SPEC 4.8). */
const LEGACY_POST_HANDLERS: readonly string[] = [
  "postprocess.epipostprocess",
  "postprocess.postprocess_prediction",
  "data_format_lambda.lambda_handler",
];

/** Every legacy handler name this module knows (for messages and tests). */
export const KNOWN_LEGACY_HANDLERS: readonly string[] = Object.keys(LEGACY_HANDLERS);

/**
 * The protocol a legacy `Lambda.Handler` value selects, or undefined when it is unknown.
 * Surrounding whitespace is ignored; a protocol name itself (`default`, `ensemble`,
 * `input-checking`) maps to itself.
 */
export function protocolForLegacyHandler(handler: string): ProtocolName | undefined {
  const h = handler.trim();
  if (Object.prototype.hasOwnProperty.call(LEGACY_HANDLERS, h)) return LEGACY_HANDLERS[h];
  if (h === "default" || h === "ensemble" || h === "input-checking") return h;
  return undefined;
}

/** Whether a legacy `Lambda.PostHandler` value names a post-processing step this project runs. */
export function isLegacyPostHandler(postHandler: string): boolean {
  return LEGACY_POST_HANDLERS.includes(postHandler.trim());
}
