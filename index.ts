import { currentStackIdentity, defineStack, pulumiConfigGetter } from "./components/program";
import { stackSettingsFromConfig } from "./components/settings";

const outputs = defineStack(stackSettingsFromConfig(pulumiConfigGetter, currentStackIdentity()));

export const utils = outputs.utils;
export const analysis = outputs.analysis;
export const users = outputs.users;
export const accountGuardFunction = outputs.accountGuardFunction;
