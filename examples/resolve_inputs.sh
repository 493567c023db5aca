# Sourced by the example analyses: sets `data`, `config`, `outdir` and `standalone`.
# Under `neurocaas workflow run-main` the script gets DATA CONFIG OUTDIR as arguments (also in
# NEUROCAAS_DATA, NEUROCAAS_CONFIG_FILE, NEUROCAAS_OUTDIR); run on its own it asks the workflow CLI
# for the registered inputs, and `standalone=1` tells it to upload its results itself.
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
