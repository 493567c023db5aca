import { useState } from "preact/hooks";
import type { DashboardConfig } from "../../../model/dashboard-config";
import { describeError } from "../api/s3";
import { ErrorBox } from "./common";

export interface KeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Sign in with an access key (local keys, or an IAM user's pasted keys), or through Cognito. */
export function SignIn({
  config,
  onKeys,
  error,
}: {
  config: DashboardConfig;
  onKeys: (k: KeyPair) => Promise<void>;
  error?: string;
}) {
  const [accessKeyId, setId] = useState("");
  const [secretAccessKey, setSecret] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const cognito = config.signIn.cognito;
  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    const id = accessKeyId.trim();
    const secret = secretAccessKey.trim();
    if (!id || !secret) {
      setProblem("Enter both the access key id and the secret key.");
      return;
    }
    setBusy(true);
    try {
      await onKeys({ accessKeyId: id, secretAccessKey: secret });
    } catch (err) {
      setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>NeuroCAAS</h1>
      <p class="lede">Neuroscience analyses in the cloud: upload data, submit, watch, download results.</p>
      {cognito ? (
        <div class="panel">
          <button
            type="button"
            class="primary"
            onClick={() =>
              void import("../api/cognito")
                .then(({ startCognitoLogin }) => startCognitoLogin(cognito))
                .catch((err: unknown) => setProblem(describeError(err)))
            }
          >
            Sign in with your NeuroCAAS account
          </button>
        </div>
      ) : null}
      {config.signIn.keys ? (
        <form class="panel" onSubmit={(e) => void submit(e)} data-testid="signin-form">
          <h2>{cognito ? "Or sign in with access keys" : "Sign in with your access key"}</h2>
          <label>
            Access key id
            <input
              name="accessKeyId"
              autocomplete="username"
              spellcheck={false}
              value={accessKeyId}
              onInput={(e) => setId((e.target as HTMLInputElement).value)}
            />
          </label>
          <label>
            Secret key
            <input
              name="secretAccessKey"
              type="password"
              autocomplete="current-password"
              value={secretAccessKey}
              onInput={(e) => setSecret((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
          <p class="hint">{config.signIn.keys.hint}</p>
        </form>
      ) : null}
      <ErrorBox message={problem ?? error} testId="signin-error" />
    </main>
  );
}
