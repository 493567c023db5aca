/** Bounded concurrency, written once for every protocol that fans out requests. */

export interface MapBoundedOptions {
  /** Start no new item after the first failure (items already in flight finish); default false. */
  readonly stopOnError?: boolean;
}

/**
 * `fn` over `items` with at most `limit` calls in flight; results in input order. The first
 * failure is rethrown once every started call has settled, so no call outlives the returned promise.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: MapBoundedOptions = {},
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !(options.stopOnError && errors.length > 0)) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, Math.floor(limit)), items.length) }, worker));
  if (errors.length > 0) throw errors[0];
  return results;
}
