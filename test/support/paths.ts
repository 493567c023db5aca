import * as path from "node:path";

/** `../shared/fixtures` beside the repository (CI: X/main and X/shared). */
export const FIXTURES = path.resolve(__dirname, "../../../shared/fixtures");
export const CONDITION_MATRIX = path.join(FIXTURES, "condition-matrix");
export const COST_LOGS = path.join(FIXTURES, "cost-logs", "test_user");
export const LEGACY_BLUEPRINTS = path.join(FIXTURES, "legacy-blueprints");
