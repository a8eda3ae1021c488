# Sourced by the scripts that make docs/results (run-all.sh, protocol.sh, data/run.sh): how they
# take the fastlra command, where they write, and their dry runs.

# Files and directories to remove at exit (temporary data, a dry run's results, partial outputs).
cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT

# fastlra_command [WORDS...]: sets F, the fastlra command as an array of words: the words given,
# else $FASTLRA, else fastlra. One word with spaces ("dotnet path/fastlra.dll") is split into its
# words; words that name a file are made absolute (the scripts run from the repository's root).
# Exits 2 when the command cannot run `info`.
fastlra_command() {
  local words=("$@") word
  if [ ${#words[@]} -eq 0 ]; then read -ra words <<< "${FASTLRA:-fastlra}"
  elif [ ${#words[@]} -eq 1 ]; then read -ra words <<< "$1"; fi
  F=()
  for word in "${words[@]}"; do
    if [[ $word == */* && -e $word ]]; then F+=("$(realpath "$word")"); else F+=("$word"); fi
  done
  if ! "${F[@]}" info > /dev/null 2>&1; then
    echo "$(basename "$0"): cannot run '${F[*]} info': give the fastlra command, for example" \
      "src/FastLra.Cli/bin/Release/net10.0/fastlra after dotnet build -c Release, or \"dotnet path/to/fastlra.dll\"" >&2
    exit 2
  fi
}

# results_dir DEFAULT: sets O, where the sweeps, generated grids and reports go: $OUT (made absolute
# against the caller's directory, so call this before changing directory) when set; in a dry run
# ($DRY) a temporary directory, removed at exit; otherwise DEFAULT, the committed results (relative
# to the repository's root, as the reports' titles name them).
results_dir() {
  if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT" && O=$(realpath "$OUT")
  elif [ -n "${DRY:-}" ]; then
    O=$(mktemp -d)
    cleanup+=("$O")
  else
    O=$1
  fi
}

# grid FILE: the grid's text for sweep --grid (inline), FASHION replaced by $FASHION_DIR. In a dry
# run every object gets 20 iterations with a check every 10 and at most two seeds (its first
# two), and a grid over a synthetic task H = 20 (the reference semantics needs B <= H) and 100
# validation sequences: every step runs, in seconds.
grid() {
  local text keys='max-iter|check-every'
  text=$(sed "s#FASHION#${FASHION_DIR:-FASHION}#g" "$1" | tr '\n' ' ')
  if [ -n "${DRY:-}" ]; then
    grep -q '"task"' <<< "$text" && keys="$keys|valid-size|hidden"
    keys="\"($keys)\": *(\\[[^]]*\\]|[0-9.eE+-]+)"
    text=$(sed -E -e "s/$keys *, *//g" -e "s/, *$keys//g" -e 's/"seed": *\[ *([0-9]+) *, *([0-9]+)[^]]*\]/"seed": [\1, \2]/g' <<< "$text")
    if grep -q '"task"' <<< "$text"; then text=${text//\{/\{\"valid-size\": 100, \"hidden\": 20, }; fi
    text=${text//\{/\{\"max-iter\": 20, \"check-every\": 10, }
  fi
  printf '%s' "$text"
}
