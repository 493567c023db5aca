#!/usr/bin/env bash
# Mock analysis: waits `wait` seconds (config, default 1), then writes {dataset}_mock_result.json
# (named after the dataset: the IAEs of a job share process_results/).
# With `fail: true` in the config it prints an error on stderr and exits 3 instead (for testing
# failure reporting). Arguments and environment as for examples/pca/run_pca.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../resolve_inputs.sh
. "$here/../resolve_inputs.sh"

wait="$(neurocaas scripting read-yaml -p "$config" -f wait -d 1)"
fail="$(neurocaas scripting read-yaml -p "$config" -f fail -d false)"
if ! [[ "$wait" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "mock: config key 'wait' must be a non-negative number of seconds; got '$wait'" >&2
  exit 2
fi

echo "mock: waiting $wait seconds on $(basename "$data")"
sleep "$wait"
case "$fail" in
  true|True|TRUE|yes|1)
    echo "mock: failing as requested by the config (fail: $fail)" >&2
    exit 3 ;;
esac

mkdir -p "$outdir"
name="$(basename "$data")"
stem="${name%.*}"
[ -n "$stem" ] || stem="$name"
# Long dataset names: keep output names well within file-name limits (head + hash of the rest).
if [ "${#stem}" -gt 100 ]; then stem="${stem:0:100}-$(printf '%s' "$stem" | sha256sum | cut -c1-8)"; fi
result="$outdir/${stem}_mock_result.json"
printf '{"waited_seconds": %s, "dataset": "%s", "finished": "%s"}\n' \
  "$wait" "$name" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$result"
if [ "$standalone" = 1 ]; then neurocaas workflow put-result -r "$result"; fi
echo "mock: done"
