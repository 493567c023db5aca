#!/usr/bin/env bash
# PCA analysis script. Under `neurocaas workflow run-main` it gets DATA CONFIG OUTDIR as arguments
# (also in NEUROCAAS_DATA, NEUROCAAS_CONFIG_FILE, NEUROCAAS_OUTDIR) and run-main uploads OUTDIR.
# Run on its own (e.g. `neurocaas workflow log-command-local -c "bash examples/pca/run_pca.sh"`)
# it fetches the registered inputs and uploads its results with the workflow CLI itself.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
standalone=0
if [ "$#" -ge 3 ]; then
  data="$1"; config="$2"; outdir="$3"
elif [ -n "${NEUROCAAS_OUTDIR:-}" ]; then
  data="$NEUROCAAS_DATA"; config="$NEUROCAAS_CONFIG_FILE"; outdir="$NEUROCAAS_OUTDIR"
else
  standalone=1
  data="$(neurocaas workflow get-data)"
  config="$(neurocaas workflow get-config)"
  outdir="$(neurocaas workflow get-resultpath-tmp)"
fi

tsx="$here/../../node_modules/.bin/tsx"
[ -x "$tsx" ] || tsx="tsx"

echo "----RUNNING PCA on $(basename "$data") with $(basename "$config")----"
"$tsx" "$here/main.ts" --data "$data" --config "$config" --out "$outdir"

if [ "$standalone" = 1 ]; then
  for f in "$outdir"/*; do neurocaas workflow put-result -r "$f"; done
fi
echo "----PCA DONE----"
