#!/usr/bin/env bash
# Parser fuzzing (issue 17): libFuzzer targets built with `swiftc -sanitize=fuzzer,address` from the parsers' own
# source files (each target's list below), run for FUZZ_SECONDS each from the seed corpus in fuzz/corpus/<target>
# (which also holds every input that once crashed, as a regression seed). New corpus entries go to
# .build-fuzz/corpus/<target>, crashes to .build-fuzz/crashes/<target>/; a crash fails the run.
#
#   scripts/fuzz_parsers.sh [SECONDS] [TARGET...]     (default 60 s each, every target)
#   scripts/fuzz_parsers.sh --replay                  (build, run each seed once: what make test does)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
export SWIFT_BACKTRACE=enable=no  # libFuzzer prints the stack; Swift's backtracer would trip ASan

declare -A SOURCES=(
  [csv]="Sources/AerieML/CSVReader.swift Sources/AerieML/MLError.swift"
  [json]="Sources/AerieCore/JSONText.swift Sources/AerieCore/JSONValue.swift Sources/AerieCore/AerieError.swift"
  [object-keys]="Sources/AerieCore/Objects/ObjectNames.swift Sources/AerieCore/AerieError.swift"
  [sigv4]="Sources/AerieS3/SigV4.swift"
)
declare -A HARNESS=([csv]=FuzzCSV [json]=FuzzJSON [object-keys]=FuzzObjectKeys [sigv4]=FuzzSigV4)
# Targets whose sources import a package dependency link the package's debug build of it (uninstrumented: the
# coverage is of our code): its module interfaces, module maps and object files.
declare -A DEPENDS=([sigv4]="Crypto CryptoBoringWrapper CCryptoBoringSSL CCryptoBoringSSLShims CXKCP CXKCPShims")

dependency_flags() {
  local target=$1 modules=${DEPENDS[$1]:-}
  [[ -n "$modules" ]] || return 0
  [[ -d .build/debug/Modules ]] || { echo "fuzz-$target links the package's debug build: run swift build first" >&2; exit 2; }
  echo "-I .build/debug/Modules"
  find .build/checkouts -name module.modulemap -path "*swift-crypto*" | sed 's/^/-Xcc -fmodule-map-file=/'
  for module in $modules; do find ".build/debug/$module.build" -name "*.o"; done
}

replay=false
seconds=60
if [[ "${1:-}" == "--replay" ]]; then replay=true; shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(csv json object-keys sigv4)

mkdir -p .build-fuzz
for target in "${targets[@]}"; do
  [[ -n "${SOURCES[$target]:-}" ]] || { echo "fuzz: no target '$target' (csv, json, object-keys, sigv4)" >&2; exit 2; }
  binary=.build-fuzz/fuzz-$target
  echo "==> fuzz-$target: building"
  # shellcheck disable=SC2086,SC2046  # the source and flag lists are word lists
  swiftc -parse-as-library -sanitize=fuzzer,address -O "fuzz/targets/${HARNESS[$target]}.swift" ${SOURCES[$target]} \
    $(dependency_flags "$target") -o "$binary" \
    2> >(grep -v "ld.gold: warning: Cannot export local symbol" >&2)
  mkdir -p ".build-fuzz/corpus/$target" ".build-fuzz/crashes/$target"
  if $replay; then
    echo "==> fuzz-$target: replaying $(ls "fuzz/corpus/$target" | wc -l) seeds"
    "$binary" -runs=0 "fuzz/corpus/$target" 2>&1 | tail -n 3
  else
    echo "==> fuzz-$target: ${seconds} s"
    "$binary" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=".build-fuzz/crashes/$target/" \
      ".build-fuzz/corpus/$target" "fuzz/corpus/$target" 2>&1 | grep -E "^Done|stat::number_of_executed_units|ERROR|Fatal|crash-" || true
    if compgen -G ".build-fuzz/crashes/$target/crash-*" > /dev/null; then
      echo "fuzz-$target found a crash: $(ls .build-fuzz/crashes/$target/crash-*); reproduce with $binary <file>" >&2
      exit 1
    fi
  fi
done
