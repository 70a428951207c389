"""Python handlers for e2e/test_runtimes.py, run by awslambdaric."""
import os
import time

print("module loaded in", os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def handler(event, context):
    action = event.get("action") if isinstance(event, dict) else None
    if action == "alloc":
        block = bytearray(int(event.get("mib", 300)) << 20)
        return {"allocated": len(block)}
    if action == "crash":
        os._exit(3)
    if action == "sleep":
        time.sleep(float(event.get("seconds", 5)))
    if action == "fail":
        raise ValueError("asked to fail")
    print("handling", context.aws_request_id)
    return {
        "echo": event,
        "request_id": context.aws_request_id,
        "function": context.function_name,
        "version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "has_key": bool(os.environ.get("AERIE_API_KEY")),
        "aerie_url": os.environ.get("AERIE_URL"),
        "greeting": os.environ.get("GREETING"),
    }
