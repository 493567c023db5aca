/** The component library's public surface (the Pulumi program itself is `components/program.ts`). */
export { UtilsStack, type UtilsStackArgs, type UtilsOutputs } from "./utils-stack";
export {
  AnalysisPipeline,
  type AnalysisPipelineArgs,
  notificationFilters,
  monitorEventPattern,
} from "./analysis-pipeline";
export { UserProfile, type UserProfileArgs } from "./user-profile";
export { AccountGuard, type AccountGuardArgs } from "./account-guard";
export { LambdaFunction, type LambdaFunctionArgs } from "./lambda-function";
export { defineStack, pulumiConfigGetter, type StackOutputs } from "./program";
export { stackSettingsFromConfig, StackConfigError, type StackSettings } from "./settings";
export {
  parseBlueprint,
  validateBlueprint,
  loadStackFile,
  BlueprintError,
  BLUEPRINT_CONFIG_KEY,
} from "../model/blueprint/parse";
export {
  runtimeConfigFromBlueprint,
  packageRuntimeConfig,
  type UtilsRuntimeValues,
} from "../model/runtime-config-build";
export { WebDashboard, type WebDashboardArgs } from "./web-dashboard";
