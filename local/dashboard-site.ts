/**
 * The web dashboard on the local endpoint's own origin: `/_dashboard/` (the static app) and
 * `/_dashboard/config.json` (the analyses, prices and how to sign in; never a key). Same origin
 * as the S3 endpoint, so the page's signed S3 requests need no CORS.
 */
import { createHash } from "node:crypto";
import type * as http from "node:http";
import { buildDashboard, configFile, type DashboardFile } from "../components/dashboard-bundle";
import {
  assertNoSecrets,
  dashboardAnalysis,
  dashboardContentSecurityPolicy,
  type DashboardConfig,
} from "../model/dashboard-config";
import type { PriceSource } from "../protocols/deps";
import type { AnalysisRuntimeConfig } from "../model/runtime-config";

export const DASHBOARD_PATH = "/_dashboard/";

export interface LocalDashboardArgs {
  readonly analyses: ReadonlyMap<string, AnalysisRuntimeConfig>;
  readonly prices: PriceSource;
  /** The users' key file named on the sign-in page. */
  readonly credentialsFile: string;
  /** Access key id → its (analysis, group) pairs, or "all" (the admin key). */
  readonly keyMemberships: () => ReadonlyMap<string, "all" | readonly { bucket: string; group: string }[]>;
  readonly log?: (line: string) => void;
}

/** How config.json names an access key id (the page computes the same digest of the key it is given). */
function accessKeyDigest(accessKeyId: string): string {
  return createHash("sha256").update(accessKeyId).digest("hex");
}

/** config.json of local mode: path-style requests to this very endpoint, keys as the sign-in. */
export async function localDashboardConfig(args: LocalDashboardArgs, endpoint: string): Promise<DashboardConfig> {
  const analyses = [];
  for (const a of args.analyses.values()) {
    const known = new Map<string, number>();
    for (const t of [a.instanceType, ...a.allowedInstanceTypes]) {
      const p = await args.prices.hourlyPrice(t, a.region).catch(() => undefined);
      if (p !== undefined) known.set(t, p);
    }
    analyses.push(dashboardAnalysis(a, (t) => known.get(t)));
  }
  const config: DashboardConfig = {
    version: 1,
    mode: "local",
    endpoint,
    forcePathStyle: true,
    analyses,
    signIn: {
      keys: {
        hint:
          `Local NeuroCAAS keys: the admin key is on the ready line of \`neurocaas local\` (access-key / secret-key); ` +
          `each lab member's key is in ${args.credentialsFile} (the profile named after the user).`,
        memberships: Object.fromEntries([...args.keyMemberships()].map(([id, m]) => [accessKeyDigest(id), m])),
      },
    },
  };
  assertNoSecrets(config);
  return config;
}

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": dashboardContentSecurityPolicy(),
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-cache",
};

function send(req: http.IncomingMessage, res: http.ServerResponse, f: DashboardFile): void {
  const headers = { ...SECURITY_HEADERS, "Content-Type": f.contentType, ETag: f.etag };
  if (req.headers["if-none-match"] === f.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, "Content-Length": String(f.body.length) });
  res.end(req.method === "HEAD" ? undefined : f.body);
}

function plain(res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8", ...extra });
  res.end(`${text}\n`);
}

/** The request handler for `/_dashboard…` (the endpoint's `site` hook): true when it answered. */
export function dashboardSite(
  args: LocalDashboardArgs,
  endpoint: () => string,
): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = req.url ?? "/";
    const pathname = url.split("?")[0];
    if (pathname !== DASHBOARD_PATH.slice(0, -1) && !pathname.startsWith(DASHBOARD_PATH)) return false;
    req.resume();
    if (req.method !== "GET" && req.method !== "HEAD") {
      plain(res, 405, "The dashboard is read-only: GET it.", { Allow: "GET, HEAD" });
      return true;
    }
    if (pathname === DASHBOARD_PATH.slice(0, -1)) {
      res.writeHead(301, { Location: DASHBOARD_PATH });
      res.end();
      return true;
    }
    const name = pathname.slice(DASHBOARD_PATH.length) || "index.html";
    try {
      if (name === "config.json") {
        send(req, res, configFile(await localDashboardConfig(args, endpoint())));
        return true;
      }
      const file = (await buildDashboard()).get(name);
      if (!file) plain(res, 404, `No such dashboard file: ${name}`);
      else send(req, res, file);
    } catch (err) {
      args.log?.(`dashboard: ${name} could not be served: ${(err as Error).stack ?? String(err)}`);
      plain(res, 500, `The dashboard could not be built: ${(err as Error).message}`);
    }
    return true;
  };
}
