/**
 * Access keys of local NeuroCAAS.
 *
 * Persistent (in the data dir, mode 0600):
 * - `keys.json` — the key store: `{"admin": {accessKeyId, secretAccessKey}, "users": {NAME: {...}}}`;
 *   the admin key and one key per blueprint user, generated on first use and kept across restarts
 *   (an admin key given by flag or environment replaces the stored one).
 * - `credentials` — the same keys as an AWS shared-credentials file, rewritten at every start:
 *   profile `neurocaas-admin` and one profile per user, for
 *   `AWS_SHARED_CREDENTIALS_FILE={data-dir}/credentials aws --profile USER ...`.
 *
 * In memory only (gone when the server stops): the platform key the server's own handlers use,
 * and one key per running IAE (revoked when the IAE terminates).
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import {
  ADMIN_PRINCIPAL,
  iaePrincipal,
  PLATFORM_PRINCIPAL,
  userMemberships,
  userPrincipal,
  type AnalysisIdentities,
  type Principal,
} from "./principals";

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface KeyEntry {
  readonly secretAccessKey: string;
  readonly principal: Principal;
}

/** How the endpoint resolves an access key id. */
export interface KeyLookup {
  lookup(accessKeyId: string): KeyEntry | undefined;
  /** Told to callers whose key is unknown: where valid keys are. */
  readonly hint?: string;
}

const KEYS_FILE = "keys.json";
const CREDENTIALS_FILE = "credentials";
export const ADMIN_PROFILE = "neurocaas-admin";

/** Environment variables that give the admin key (instead of a generated one). */
export const ADMIN_KEY_ENV = {
  accessKeyId: "NEUROCAAS_LOCAL_ACCESS_KEY_ID",
  secretAccessKey: "NEUROCAAS_LOCAL_SECRET_ACCESS_KEY",
} as const;

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A fresh key pair shaped like AWS's: `{prefix}` + 16 base32 characters, a 40-character secret. */
export function newCredentials(prefix = "AKIA"): Credentials {
  const id = [...randomBytes(16)].map((b) => BASE32[b & 31]).join("");
  return { accessKeyId: `${prefix}${id}`, secretAccessKey: randomBytes(30).toString("base64") };
}

/** Checks an operator-given key pair; throws saying what is expected. */
export function validateCredentials(c: Credentials, source: string): Credentials {
  if (!/^[A-Za-z0-9]{16,128}$/.test(c.accessKeyId))
    throw new Error(`${source}: the access key id must be 16-128 letters or digits, got "${c.accessKeyId}"`);
  if (c.secretAccessKey.length < 16 || /\s/.test(c.secretAccessKey))
    throw new Error(`${source}: the secret key must be at least 16 characters without spaces`);
  return c;
}

/** The admin key given by the environment, or undefined; throws when only half of it is set. */
export function adminCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const accessKeyId = env[ADMIN_KEY_ENV.accessKeyId];
  const secretAccessKey = env[ADMIN_KEY_ENV.secretAccessKey];
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey)
    throw new Error(
      `set both ${ADMIN_KEY_ENV.accessKeyId} and ${ADMIN_KEY_ENV.secretAccessKey}, or neither (a key is then generated)`,
    );
  return validateCredentials(
    { accessKeyId, secretAccessKey },
    `${ADMIN_KEY_ENV.accessKeyId}/${ADMIN_KEY_ENV.secretAccessKey}`,
  );
}

/** A mutable access-key → principal table. */
export class KeyRing implements KeyLookup {
  private readonly keys = new Map<string, KeyEntry>();

  constructor(readonly hint?: string) {}

  /** A ring holding one unrestricted key (a bare endpoint for tests and tools). */
  static single(credentials: Credentials): KeyRing {
    const ring = new KeyRing();
    ring.add(credentials, ADMIN_PRINCIPAL);
    return ring;
  }

  add(credentials: Credentials, principal: Principal): void {
    if (this.keys.has(credentials.accessKeyId))
      throw new Error(`access key ${credentials.accessKeyId} is already in use`);
    this.keys.set(credentials.accessKeyId, { secretAccessKey: credentials.secretAccessKey, principal });
  }

  remove(accessKeyId: string): void {
    this.keys.delete(accessKeyId);
  }

  lookup(accessKeyId: string): KeyEntry | undefined {
    return this.keys.get(accessKeyId);
  }
}

interface StoredKeys {
  admin?: Credentials;
  users: Record<string, Credentials>;
}

function isCredentials(v: unknown): v is Credentials {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as Credentials).accessKeyId === "string" &&
    typeof (v as Credentials).secretAccessKey === "string"
  );
}

async function readStore(file: string): Promise<StoredKeys> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { users: {} };
    throw err;
  }
  const broken = (why: string) => new Error(`key store ${file} ${why}; fix it, or delete it to generate new keys`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw broken(`is not valid JSON (${(err as Error).message})`);
  }
  const doc = parsed as { admin?: unknown; users?: unknown };
  if (typeof doc !== "object" || doc === null) throw broken("must be a JSON object");
  if (doc.admin !== undefined && !isCredentials(doc.admin))
    throw broken('has an "admin" entry without accessKeyId/secretAccessKey');
  const users: Record<string, Credentials> = {};
  if (doc.users !== undefined) {
    if (typeof doc.users !== "object" || doc.users === null) throw broken('has a "users" entry that is not an object');
    for (const [name, c] of Object.entries(doc.users)) {
      if (!isCredentials(c)) throw broken(`has a user "${name}" without accessKeyId/secretAccessKey`);
      users[name] = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
    }
  }
  return { ...(doc.admin !== undefined ? { admin: doc.admin as Credentials } : {}), users };
}

/** Write a private file atomically (temp file + rename), mode 0600 even when it existed. */
async function writePrivate(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, text, { mode: 0o600 });
  await fsp.chmod(tmp, 0o600);
  await fsp.rename(tmp, file);
}

function credentialsIni(
  admin: Credentials,
  users: ReadonlyMap<string, { credentials: Credentials; memberships: readonly { bucket: string; group: string }[] }>,
): string {
  const lines = [
    "# neurocaas local: access keys of this data dir (AWS shared-credentials format; keep it private).",
    `# Rewritten at every start from ${KEYS_FILE}. Use: AWS_SHARED_CREDENTIALS_FILE=<this file> aws --profile NAME ...`,
    `# [${ADMIN_PROFILE}]: the operator's admin key, full access (it bypasses the permission model).`,
    "# Every other profile is a blueprint user with the permissions of their groups (SPEC 1):",
    ...[...users].map(([name, u]) => `#   ${name}: ${u.memberships.map((m) => `${m.bucket}/${m.group}`).join(", ")}`),
    "",
    `[${ADMIN_PROFILE}]`,
    `aws_access_key_id = ${admin.accessKeyId}`,
    `aws_secret_access_key = ${admin.secretAccessKey}`,
  ];
  for (const [name, u] of users)
    lines.push(
      "",
      `[${name}]`,
      `aws_access_key_id = ${u.credentials.accessKeyId}`,
      `aws_secret_access_key = ${u.credentials.secretAccessKey}`,
    );
  return `${lines.join("\n")}\n`;
}

export interface OpenLocalKeysArgs {
  readonly dataDir: string;
  readonly analyses: readonly AnalysisIdentities[];
  /** Use this admin key instead of the stored (or a generated) one; it is stored. */
  readonly admin?: Credentials;
}

/**
 * The keys of one `neurocaas local` server. Other code asks it for credentials:
 * `admin`, `platform`, `user(name)`, and `issueIae(bucket, instanceId)` / `revokeIae(instanceId)`.
 */
export class LocalKeys {
  private readonly iaeKeys = new Map<string, string>();

  private constructor(
    readonly ring: KeyRing,
    readonly admin: Credentials,
    readonly platform: Credentials,
    private readonly users: ReadonlyMap<
      string,
      { readonly credentials: Credentials; readonly memberships: readonly { bucket: string; group: string }[] }
    >,
    private readonly analyses: ReadonlyMap<string, AnalysisIdentities>,
    /** `{dataDir}/keys.json` */
    readonly keysFile: string,
    /** `{dataDir}/credentials` (AWS shared-credentials file) */
    readonly credentialsFile: string,
  ) {}

  static async open(args: OpenLocalKeysArgs): Promise<LocalKeys> {
    const keysFile = path.join(args.dataDir, KEYS_FILE);
    const credentialsFile = path.join(args.dataDir, CREDENTIALS_FILE);
    const stored = await readStore(keysFile);
    const admin = args.admin ? validateCredentials(args.admin, "admin key") : (stored.admin ?? newCredentials());
    const memberships = userMemberships(args.analyses);
    if (memberships.has(ADMIN_PROFILE))
      throw new Error(
        `a blueprint user is named "${ADMIN_PROFILE}", the admin's profile name in ${credentialsFile}; rename the user`,
      );
    const users = new Map<
      string,
      { credentials: Credentials; memberships: { bucket: string; region: string; group: string }[] }
    >();
    for (const [name, list] of [...memberships].sort(([a], [b]) => a.localeCompare(b))) {
      users.set(name, { credentials: stored.users[name] ?? newCredentials(), memberships: list });
    }
    const ring = new KeyRing(
      `the admin key is on \`neurocaas local\`'s ready line, users' keys are in ${credentialsFile}`,
    );
    ring.add(admin, ADMIN_PRINCIPAL);
    for (const [name, u] of users) ring.add(u.credentials, userPrincipal(name, u.memberships));
    const platform = newCredentials("ASIA");
    ring.add(platform, PLATFORM_PRINCIPAL);

    await fsp.mkdir(args.dataDir, { recursive: true });
    const store = { admin, users: Object.fromEntries([...users].map(([n, u]) => [n, u.credentials])) };
    await writePrivate(keysFile, `${JSON.stringify(store, null, 2)}\n`);
    await writePrivate(credentialsFile, credentialsIni(admin, users));
    return new LocalKeys(
      ring,
      admin,
      platform,
      users,
      new Map(args.analyses.map((a) => [a.bucket, a])),
      keysFile,
      credentialsFile,
    );
  }

  /** Blueprint user names that have a key. */
  userNames(): string[] {
    return [...this.users.keys()];
  }

  user(name: string): Credentials | undefined {
    return this.users.get(name)?.credentials;
  }

  /** The first blueprint user (by name) of a group of an analysis, if any. */
  userIn(bucket: string, group: string): string | undefined {
    return [...this.users].find(([, u]) => u.memberships.some((m) => m.bucket === bucket && m.group === group))?.[0];
  }

  /** New credentials for one IAE, scoped like the cloud IAE role of its analysis (`iaePolicy`). */
  issueIae(bucket: string, instanceId: string): Credentials {
    const analysis = this.analyses.get(bucket);
    if (!analysis) throw new Error(`no local analysis "${bucket}" to issue IAE credentials for`);
    this.revokeIae(instanceId);
    const credentials = newCredentials("ASIA");
    this.ring.add(credentials, iaePrincipal(analysis, instanceId));
    this.iaeKeys.set(instanceId, credentials.accessKeyId);
    return credentials;
  }

  /** The IAE's credentials stop working (it terminated). */
  revokeIae(instanceId: string): void {
    const id = this.iaeKeys.get(instanceId);
    if (id === undefined) return;
    this.ring.remove(id);
    this.iaeKeys.delete(instanceId);
  }
}
