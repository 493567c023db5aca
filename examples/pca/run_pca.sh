#!/usr/bin/env bash
# PCA analysis script. Under `neurocaas workflow run-main` it gets DATA CONFIG OUTDIR as arguments
# (also in NEUROCAAS_DATA, NEUROCAAS_CONFIG_FILE, NEUROCAAS_OUTDIR) and run-main uploads OUTDIR.
# Run on its own (e.g. `neurocaas workflow log-command-local -c "bash examples/pca/run_pca.sh"`)
# it fetches the registered inputs and uploads its results with the workflow CLI itself.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../resolve_inputs.sh
. "$here/../resolve_inputs.sh"

tsx="$here/../../node_modules/.bin/tsx"
[ -x "$tsx" ] || tsx="tsx"

echo "----RUNNING PCA on $(basename "$data") with $(basename "$config")----"
"$tsx" "$here/main.ts" --data "$data" --config "$config" --out "$outdir"

if [ "$standalone" = 1 ]; then
  for f in "$outdir"/*; do neurocaas workflow put-result -r "$f"; done
fi
echo "----PCA DONE----"
