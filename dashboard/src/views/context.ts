import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { DashboardAnalysis, DashboardConfig } from "../../../model/dashboard-config";
import type { Place } from "../api/s3";
import type { Route } from "../lib/route";

/** What every view of a signed-in user works with. */
export interface Workspace {
  readonly config: DashboardConfig;
  readonly analysis: DashboardAnalysis;
  readonly place: Place;
  navigate(route: Partial<Route>): void;
}

export const WorkspaceContext = createContext<Workspace | undefined>(undefined);

export function useWorkspace(): Workspace {
  const w = useContext(WorkspaceContext);
  if (!w) throw new Error("useWorkspace outside a signed-in workspace");
  return w;
}
