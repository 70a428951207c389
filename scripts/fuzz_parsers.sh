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
  [aws-chunked]="Sources/AerieS3/S3RequestBody.swift Sources/AerieS3/S3Checksum.swift Sources/AerieS3/S3Error.swift Sources/AerieS3/SigV4.swift Sources/AerieS3/XMLWriter.swift"
  [images]="Sources/AerieImaging/ImageDecoder.swift Sources/AerieImaging/ImageFormat.swift Sources/AerieImaging/ExifOrientation.swift Sources/AerieImaging/RGBImage.swift"
  [multipart]="Sources/AerieHTTP/Support/MultipartForm.swift"
)
declare -A HARNESS=([csv]=FuzzCSV [json]=FuzzJSON [object-keys]=FuzzObjectKeys [sigv4]=FuzzSigV4 [aws-chunked]=FuzzAwsChunked [images]=FuzzImages [multipart]=FuzzMultipart)
ALL_TARGETS=(csv json object-keys sigv4 aws-chunked images multipart)
# C sources compiled with the same instrumentation, and the system libraries they call.
declare -A C_SOURCES=([images]="Sources/CAerieImageCodecs/ImageCodecs.c")
declare -A C_INCLUDES=([images]="Sources/CAerieImageCodecs/include")
declare -A LIBRARIES=([images]="-ljpeg -lpng16 -lwebp -lexif")
# Targets whose sources import other modules link the package's debug build of them (not instrumented: the coverage
# is of the target's own sources): their module interfaces, module maps and object files.
CRYPTO="Crypto CryptoBoringWrapper CCryptoBoringSSL CCryptoBoringSSLShims CXKCP CXKCPShims"
COLLECTIONS="OrderedCollections Collections DequeModule InternalCollectionsUtilities BitCollections BasicContainers
  ContainersPreview HashTreeCollections HeapModule"
declare -A DEPENDS=(
  [sigv4]="$CRYPTO"
  [images]="$CRYPTO $COLLECTIONS AerieCore"
  [multipart]="$CRYPTO $COLLECTIONS AerieCore"
  [aws-chunked]="$CRYPTO AerieCore AerieAuth CZlib NIOCore NIOConcurrencyHelpers CNIOAtomics _NIODataStructures _NIOBase64
    NIOPosix CNIOPosix CNIOLinux DequeModule InternalCollectionsUtilities OrderedCollections Collections BitCollections
    BasicContainers ContainersPreview Atomics _AtomicsShims JWTKit X509 SwiftASN1 _CryptoExtras CryptoExtras
    _CertificateInternals NIOCertificateHelpers HummingbirdBcrypt CBcrypt ExtrasBase64 Logging"
)

# Fills the array `extra` with the flags and object files target $1 links.
dependency_flags() {
  local target=$1 modules=${DEPENDS[$1]:-} module file
  extra=()
  [[ -n "$modules" ]] || return 0
  [[ -d .build/debug/Modules ]] || { echo "fuzz-$target links the package's debug build: run swift build first" >&2; exit 2; }
  extra+=(-I .build/debug/Modules)
  while IFS= read -r file; do extra+=(-Xcc "-fmodule-map-file=$file"); done \
    < <(find .build/checkouts Sources -name module.modulemap; find .build/debug/ -maxdepth 2 -name module.modulemap)
  for module in $modules; do
    [[ -d ".build/debug/$module.build" ]] || continue
    while IFS= read -r -d '' file; do extra+=("$file"); done < <(find ".build/debug/$module.build" -name "*.o" -print0)
  done
}

replay=false
seconds=60
if [[ "${1:-}" == "--replay" ]]; then replay=true; shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")

mkdir -p .build-fuzz
for target in "${targets[@]}"; do
  [[ -n "${SOURCES[$target]:-}" ]] || { echo "fuzz: no target '$target' (${ALL_TARGETS[*]})" >&2; exit 2; }
  binary=.build-fuzz/fuzz-$target
  echo "==> fuzz-$target: building"
  dependency_flags "$target"
  for source in ${C_SOURCES[$target]:-}; do
    object=".build-fuzz/$(basename "$source" .c)-$target.o"
    clang -c -fsanitize=fuzzer-no-link,address -O1 -g -I "${C_INCLUDES[$target]}" "$source" -o "$object"
    extra+=("$object")
  done
  # shellcheck disable=SC2086  # the source and library lists are word lists
  swiftc -parse-as-library -sanitize=fuzzer,address -O "fuzz/targets/${HARNESS[$target]}.swift" ${SOURCES[$target]} \
    "${extra[@]}" ${LIBRARIES[$target]:-} -o "$binary" \
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
