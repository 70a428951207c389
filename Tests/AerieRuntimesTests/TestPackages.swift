import AerieRuntimes
import Foundation

/// Builds zips in memory, including the malicious entries a real zip tool would refuse to write.
enum TestZip {
    enum Item {
        case file(String, String, executable: Bool = false)
        case directory(String)
        case symlink(String, target: String)
    }

    static func make(_ items: [Item]) throws -> Data {
        ZipArchive.write(items.map { item in
            switch item {
            case .file(let path, let text, let executable):
                ZipArchive.NewEntry(path: path, kind: .file, mode: executable ? 0o755 : 0o644, data: Data(text.utf8))
            case .directory(let path):
                ZipArchive.NewEntry(path: path, kind: .directory, mode: 0o755)
            case .symlink(let path, let target):
                ZipArchive.NewEntry(path: path, kind: .symlink, mode: 0o777, data: Data(target.utf8))
            }
        })
    }

    /// A shell `bootstrap` speaking the Runtime API with curl. The input selects what it does: `crash` exits mid
    /// invocation, `fail` posts an invocation error, `hang` starts a child in its process group (pid written to
    /// $CHILD_PID_FILE) and waits, `orphan` exits leaving a child that holds its output, `slow` answers after a second; anything else is echoed back inside {"echo": …} with the request id and function.
    static let shellBootstrap = #"""
    #!/bin/sh
    API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
    echo "init $AWS_LAMBDA_FUNCTION_NAME version $AWS_LAMBDA_FUNCTION_VERSION memory $AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
    if [ -n "$INIT_ERROR" ]; then
      curl -sS -X POST "$API/init/error" -H 'Lambda-Runtime-Function-Error-Type: Init.Config' -d '{"errorMessage":"missing setting","errorType":"ConfigError"}'
      exit 1
    fi
    # A child writes its pid as the host sees it (in a PID namespace of its own, `$!` would be the namespace's).
    RECORD_PID='read -r pid rest < /proc/self/stat; echo $pid > "$CHILD_PID_FILE"'
    HEADERS=$(mktemp)
    while true; do
      BODY=$(curl -sS -D "$HEADERS" "$API/invocation/next")
      ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)
      DEADLINE=$(grep -i '^Lambda-Runtime-Deadline-Ms:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)
      echo "got $ID"
      echo "to stderr $ID" >&2
      case "$BODY" in *slow*) sleep 1 ;; esac
      case "$BODY" in
        *orphan*) sleep 300 & exit 4 ;;
        *crash*) exit 3 ;;
        *fail*) curl -sS -X POST "$API/invocation/$ID/error" -d '{"errorMessage":"asked to fail","errorType":"ValueError"}' >/dev/null ;;
        *hang*) sh -c "$RECORD_PID; exec sleep 300" & wait ;;
        *escape*) setsid sh -c "$RECORD_PID; exec sleep 300" & sleep 0.3; exit 5 ;;
        *) curl -sS -X POST "$API/invocation/$ID/response" -d "{\"echo\":$BODY,\"id\":\"$ID\",\"deadline\":$DEADLINE,\"fn\":\"$AWS_LAMBDA_FUNCTION_NAME\",\"key\":\"${AERIE_API_KEY:+set}\"}" >/dev/null ;;
      esac
      case "$BODY" in *late*) echo "late $ID" ;; esac
    done
    """#
}
