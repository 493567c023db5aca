import * as path from "node:path";

/** The PATH of a fresh Debian/Ubuntu machine: an IAE finds the system's tools, nothing of the server user's. */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface IaeEnvironmentArgs {
  /** What the server hands the IAE (AWS endpoint, region, IAE credentials, checksum settings...). */
  readonly given: Readonly<Record<string, string>>;
  /** The IAE's sandbox: its HOME. */
  readonly home: string;
  /** The IAE's own temp dir (inside its sandbox). */
  readonly tmpdir: string;
  /** Prepended to PATH (the directory holding `neurocaas`). */
  readonly pathPrefix: readonly string[];
  /** The server's environment: only LANG/LC_ALL/TZ are taken from it. */
  readonly serverEnv?: NodeJS.ProcessEnv;
  /** The node binary the server runs on (its directory goes on PATH so `bin/neurocaas` finds `node`). */
  readonly nodePath?: string;
}

/** Locale and time zone pass through (they change no security property and keep output readable). */
const PASSED_THROUGH = ["LANG", "LC_ALL", "TZ"] as const;

/**
 * The whole environment of a local IAE: what the server gives it plus HOME, TMPDIR, PATH and the
 * locale — like a fresh machine's root shell under SSM. Nothing else of the server's environment
 * (tokens such as GITHUB_TOKEN or PULUMI_ACCESS_TOKEN, the server's own AWS settings, proxies)
 * reaches an analysis.
 */
export function iaeEnvironment(args: IaeEnvironmentArgs): Record<string, string> {
  const server = args.serverEnv ?? process.env;
  const env: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = server[name];
    if (value !== undefined && value !== "") env[name] = value;
  }
  env.LANG ??= "C.UTF-8";
  const system = SYSTEM_PATH.split(":");
  // The server's node first (bin/neurocaas runs on it), unless it is the system's own.
  const nodeDir = path.dirname(args.nodePath ?? process.execPath);
  const pathEntries = [...args.pathPrefix, ...(system.includes(nodeDir) ? [] : [nodeDir]), ...system];
  return {
    ...env,
    ...args.given,
    HOME: args.home,
    TMPDIR: args.tmpdir,
    PATH: [...new Set(pathEntries)].join(path.delimiter),
  };
}
