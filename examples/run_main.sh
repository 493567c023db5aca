#!/usr/bin/env bash
# Entry script for analysis images whose COMMAND calls a shell script, as the original
# run_main_cli.sh did:
#   bash run_main.sh BUCKET DATAKEY RESULTFOLDER CONFIGKEY ANALYSIS_SCRIPT
# It runs `neurocaas workflow run-main`, which fetches the inputs, runs
# `bash ANALYSIS_SCRIPT DATA CONFIG OUTDIR` with status logging (NEUROCAAS_DATA,
# NEUROCAAS_CONFIG_FILE and NEUROCAAS_OUTDIR are set too), uploads OUTDIR to
# process_results/ and cleans up. The exit code is the analysis' exit code.
set -uo pipefail
if [ "$#" -ne 5 ]; then
  echo "usage: $0 BUCKET DATAKEY RESULTFOLDER CONFIGKEY ANALYSIS_SCRIPT (got $# arguments)" >&2
  exit 2
fi
if command -v neurocaas >/dev/null 2>&1; then
  exec neurocaas workflow run-main "$@"
fi
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/neurocaas" workflow run-main "$@"
