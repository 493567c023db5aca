import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { DashboardConfig } from "../../model/dashboard-config";
import { listedMemberships, probeMemberships, type Membership } from "./api/memberships";
import { describeError } from "./api/s3";
import { forgetClients, loadSession, s3Client, saveSession, type Session } from "./api/session";
import { idTokenClaims, logoutUrl, membershipsOfClaims } from "./lib/cognito";
import { formatRoute, parseRoute, VIEWS, type Route, type View } from "./lib/route";
import { ErrorBox } from "./views/common";
import { WorkspaceContext, type Workspace } from "./views/context";
import { Jobs } from "./views/Jobs";
import { JobView } from "./views/JobView";
import { Lazy } from "./views/Lazy";
import { SignIn, type KeyPair } from "./views/SignIn";
import { Spend } from "./views/Spend";

// Loaded on first use: uploads (lib-storage and its stream polyfills) and config editing (yaml).
const loadInputs = () => import("./views/Inputs").then((m) => m.Inputs);
const loadConfigs = () => import("./views/Configs").then((m) => m.Configs);
const loadSubmit = () => import("./views/Submit").then((m) => m.Submit);
/** Cognito sign-in, only where a dashboard offers it (AWS). */
const cognitoApi = () => import("./api/cognito");

const TAB_LABELS: Record<View, string> = {
  jobs: "Jobs",
  inputs: "Inputs",
  configs: "Configs",
  submit: "Submit",
  spend: "Spend",
};

async function loadConfig(): Promise<DashboardConfig> {
  const res = await fetch("config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json could not be loaded (${res.status})`);
  return (await res.json()) as DashboardConfig;
}

/**
 * The groups a key may use: as config.json lists them (local mode), checked with one listing of
 * the first (a wrong key or secret fails here), else by probing every group folder.
 */
async function findMemberships(config: DashboardConfig, session: Session): Promise<Membership[]> {
  const listed = await listedMemberships(config, session.credentials.accessKeyId);
  if (listed === undefined) return probeMemberships(config.analyses, (a) => s3Client(config, session, a.region));
  const first = listed[0];
  if (first) {
    const a = config.analyses.find((x) => x.bucket === first.bucket)!;
    const reachable = await probeMemberships([{ ...a, groups: [first.group] }], () =>
      s3Client(config, session, a.region),
    );
    if (reachable.length === 0) return [];
  }
  return listed;
}

export function App() {
  const [config, setConfig] = useState<DashboardConfig>();
  const [fatal, setFatal] = useState<string>();
  const [session, setSession] = useState<Session | undefined>(() => loadSession());
  const [memberships, setMemberships] = useState<Membership[]>();
  /** The access key `memberships` were found for. */
  const membershipsKey = useRef<string | undefined>(undefined);
  const [signInError, setSignInError] = useState<string>();
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));

  useEffect(() => {
    loadConfig().then(setConfig, (err: unknown) => setFatal(describeError(err)));
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  // Returning from the Cognito hosted login.
  useEffect(() => {
    const cognito = config?.signIn.cognito;
    if (!cognito) return;
    cognitoApi()
      .then(async ({ finishCognitoLogin, credentialsForRole }) => {
        const idToken = await finishCognitoLogin(cognito, new URL(location.href));
        if (!idToken) return;
        const claims = idTokenClaims(idToken);
        const mine = membershipsOfClaims(cognito, claims);
        if (mine.length === 0)
          throw new Error(
            `${claims.username} belongs to no group of this dashboard's analyses; ask your NeuroCAAS administrator to add you to one`,
          );
        const credentials = await credentialsForRole(cognito, idToken, mine[0].roleArn);
        const s: Session = {
          method: "cognito",
          label: claims.username,
          credentials,
          idToken,
          roleArn: mine[0].roleArn,
        };
        saveSession(s);
        setSession(s);
      })
      .catch((err: unknown) => setSignInError(describeError(err)));
  }, [config]);

  // Which analyses and groups the signed-in user may use (known at once after a key sign-in;
  // looked up again after a reload).
  useEffect(() => {
    if (!config || !session) return;
    const cognito = config.signIn.cognito;
    if (session.method === "cognito" && cognito && session.idToken) {
      setMemberships(membershipsOfClaims(cognito, idTokenClaims(session.idToken)));
      return;
    }
    if (membershipsKey.current === session.credentials.accessKeyId) return;
    setMemberships(undefined);
    findMemberships(config, session).then(
      (found) => {
        membershipsKey.current = session.credentials.accessKeyId;
        setMemberships(found);
      },
      (err: unknown) => {
        setSignInError(describeError(err));
        signOut();
      },
    );
  }, [config, session?.credentials.accessKeyId]);

  const signInWithKeys = async (k: KeyPair) => {
    if (!config) return;
    const s: Session = { method: "keys", label: k.accessKeyId, credentials: k };
    const found = await findMemberships(config, s);
    if (found.length === 0)
      throw new Error(
        "This key may use none of the analyses of this dashboard (no group folder can be listed with it).",
      );
    saveSession(s);
    setSignInError(undefined);
    membershipsKey.current = k.accessKeyId;
    setMemberships(found);
    setSession(s);
  };

  const signOut = () => {
    saveSession(undefined);
    forgetClients();
    setSession(undefined);
    membershipsKey.current = undefined;
    setMemberships(undefined);
    const cognito = config?.signIn.cognito;
    if (session?.method === "cognito" && cognito) location.assign(logoutUrl(cognito));
  };

  const current = useMemo(
    () => memberships?.find((m) => m.bucket === route.bucket && m.group === route.group) ?? memberships?.[0],
    [memberships, route.bucket, route.group],
  );

  // The first analysis and group at once; the URL names the current one.
  useEffect(() => {
    if (current && (current.bucket !== route.bucket || current.group !== route.group)) {
      // Not one of the user's groups (or none named): their first group's job list, nothing of the other.
      history.replaceState(null, "", formatRoute({ bucket: current.bucket, group: current.group, view: "jobs" }));
      setRoute(parseRoute(location.hash));
    }
  }, [current, route]);

  // Cognito: each group is its own role; take the one of the chosen group.
  useEffect(() => {
    const cognito = config?.signIn.cognito;
    if (
      !cognito ||
      !session ||
      session.method !== "cognito" ||
      !current?.roleArn ||
      current.roleArn === session.roleArn ||
      !session.idToken
    )
      return;
    const idToken = session.idToken;
    const roleArn = current.roleArn;
    cognitoApi()
      .then(({ credentialsForRole }) => credentialsForRole(cognito, idToken, roleArn))
      .then(
        (credentials) => {
          const s = { ...session, credentials, roleArn: current.roleArn };
          saveSession(s);
          setSession(s);
        },
        (err: unknown) => setFatal(describeError(err)),
      );
  }, [current?.roleArn, session?.roleArn]);

  if (fatal) return <ErrorBox message={fatal} testId="fatal" />;
  if (!config) return <p class="busy">Loading…</p>;
  if (!session) return <SignIn config={config} onKeys={signInWithKeys} error={signInError} />;
  if (!memberships || !current) return <p class="busy">Signing in…</p>;
  const analysis = config.analyses.find((a) => a.bucket === current.bucket)!;
  const workspace: Workspace = {
    config,
    analysis,
    place: {
      client: s3Client(config, session, analysis.region),
      bucket: current.bucket,
      analysis: analysis.analysis,
      group: current.group,
    },
    navigate: (r) => {
      location.hash = formatRoute({
        bucket: current.bucket,
        group: current.group,
        view: r.view ?? route.view,
        ...(r.job ? { job: r.job } : {}),
      });
    },
  };
  const view = route.view;
  return (
    <WorkspaceContext.Provider value={workspace}>
      <header class="top">
        <h1>NeuroCAAS</h1>
        <label class="switch">
          Analysis / group
          <select
            data-testid="membership"
            value={`${current.bucket}/${current.group}`}
            onChange={(e) => {
              const [bucket, group] = (e.target as HTMLSelectElement).value.split("/");
              location.hash = formatRoute({ bucket, group, view: "jobs" });
            }}
          >
            {memberships.map((m) => (
              <option key={`${m.bucket}/${m.group}`} value={`${m.bucket}/${m.group}`}>
                {m.bucket} / {m.group}
              </option>
            ))}
          </select>
        </label>
        <span class="who" data-testid="who">
          {session.label}
        </span>
        <button type="button" onClick={signOut} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <nav class="tabs">
        {VIEWS.map((v) => (
          <a
            key={v}
            href={formatRoute({ bucket: current.bucket, group: current.group, view: v })}
            class={v === view ? "active" : ""}
            data-testid={`tab-${v}`}
          >
            {TAB_LABELS[v]}
          </a>
        ))}
      </nav>
      <main key={`${current.bucket}/${current.group}`}>
        {view === "jobs" && route.job ? <JobView key={route.job} folder={route.job} /> : null}
        {view === "jobs" && !route.job ? <Jobs /> : null}
        {view === "inputs" ? <Lazy load={loadInputs} /> : null}
        {view === "configs" ? <Lazy load={loadConfigs} /> : null}
        {view === "submit" ? <Lazy load={loadSubmit} /> : null}
        {view === "spend" ? <Spend /> : null}
      </main>
    </WorkspaceContext.Provider>
  );
}
