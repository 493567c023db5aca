import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api/s3";
import { ErrorBox } from "./common";

/** A view whose code loads on first use (a separate chunk of the bundle). */
export function Lazy({ load }: { load: () => Promise<ComponentType> }) {
  const [view, setView] = useState<{ C: ComponentType } | { error: string }>();
  useEffect(() => {
    let live = true;
    load().then(
      (C) => live && setView({ C }),
      (err: unknown) =>
        live && setView({ error: `This part of the dashboard could not be loaded: ${describeError(err)}` }),
    );
    return () => {
      live = false;
    };
  }, [load]);
  if (!view) return <p class="busy">Loading…</p>;
  if ("error" in view) return <ErrorBox message={view.error} />;
  return <view.C />;
}
