import { parseSpendSummary, spendSummaryKey, type SpendSummary } from "../../../model/spend-summary";
import { getObject, httpStatus, type Place } from "./s3";

/**
 * The group's spend summary, or undefined when the platform has not written it yet (before the
 * group's first submission on AWS; users cannot list `logs/`, so a missing file reads as 403).
 */
export async function loadSpend(place: Place): Promise<SpendSummary | undefined> {
  try {
    const o = await getObject(place.client, place.bucket, spendSummaryKey(place.group));
    return o ? parseSpendSummary(new TextDecoder().decode(o.body)) : undefined;
  } catch (err) {
    const s = httpStatus(err);
    if (s === 403 || s === 404) return undefined;
    throw err;
  }
}
