import { GetProductsCommand, type PricingClient } from "@aws-sdk/client-pricing";
import type { PriceSource } from "../deps";
import { JobError } from "../errors";
import { FALLBACK_HOURLY_PRICES } from "../../model/price-table";

/**
 * On-demand Linux prices from the AWS Pricing API (which lives in us-east-1), cached per process,
 * with the bundled table as fallback. A type in neither is an error naming the type.
 */
export class PricingApiPriceSource implements PriceSource {
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly client: PricingClient,
    private readonly fallback: Readonly<Record<string, number>> = FALLBACK_HOURLY_PRICES,
    private readonly log?: (message: string) => void,
  ) {}

  async hourlyPrice(instanceType: string, region: string): Promise<number> {
    const cacheKey = `${region}/${instanceType}`;
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined) return hit;
    let price: number | undefined;
    try {
      price = await this.fromApi(instanceType, region);
    } catch (err) {
      this.log?.(
        `Pricing API failed for ${instanceType} in ${region} (${err instanceof Error ? err.message : String(err)}); using the bundled table`,
      );
    }
    price ??= this.fallback[instanceType];
    if (price === undefined) {
      throw new JobError(
        `No price is known for instance type ${instanceType} in ${region} (Pricing API and bundled table); the job cannot be budgeted. Contact NeuroCAAS administrator.`,
        "AWS",
      );
    }
    this.cache.set(cacheKey, price);
    return price;
  }

  private async fromApi(instanceType: string, region: string): Promise<number | undefined> {
    const filter = (Field: string, Value: string) => ({ Type: "TERM_MATCH" as const, Field, Value });
    const out = await this.client.send(
      new GetProductsCommand({
        ServiceCode: "AmazonEC2",
        Filters: [
          filter("instanceType", instanceType),
          filter("regionCode", region),
          filter("operatingSystem", "Linux"),
          filter("tenancy", "Shared"),
          filter("preInstalledSw", "NA"),
          filter("capacitystatus", "Used"),
        ],
        MaxResults: 10,
      }),
    );
    for (const item of out.PriceList ?? []) {
      const price = onDemandUsd(typeof item === "string" ? item : JSON.stringify(item));
      if (price !== undefined && price > 0) return price;
    }
    return undefined;
  }
}

/** The on-demand hourly USD price in one Pricing API product document. */
export function onDemandUsd(productJson: string): number | undefined {
  const doc = JSON.parse(productJson) as {
    terms?: {
      OnDemand?: Record<
        string,
        { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }
      >;
    };
  };
  for (const term of Object.values(doc.terms?.OnDemand ?? {})) {
    for (const dim of Object.values(term.priceDimensions ?? {})) {
      const usd = Number(dim.pricePerUnit?.USD);
      if ((dim.unit === "Hrs" || dim.unit === undefined) && Number.isFinite(usd)) return usd;
    }
  }
  return undefined;
}
