/** The page's location in its URL hash, so a reload (or a shared link) returns to the same view. */

export const VIEWS = ["inputs", "configs", "submit", "jobs", "spend"] as const;
export type View = (typeof VIEWS)[number];

export interface Route {
  readonly bucket?: string;
  readonly group?: string;
  readonly view: View;
  /** A job folder name (`job__{analysis}_{timestamp}`) under `jobs`. */
  readonly job?: string;
}

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter((p) => p !== "")
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [bucket, group, view, job] = parts;
  const v = (VIEWS as readonly string[]).includes(view ?? "") ? (view as View) : "jobs";
  return {
    ...(bucket ? { bucket } : {}),
    ...(group ? { group } : {}),
    view: v,
    ...(v === "jobs" && job ? { job } : {}),
  };
}

export function formatRoute(r: Route): string {
  if (!r.bucket || !r.group) return "#/";
  const parts = [r.bucket, r.group, r.view, ...(r.view === "jobs" && r.job ? [r.job] : [])];
  return `#/${parts.map(encodeURIComponent).join("/")}`;
}
