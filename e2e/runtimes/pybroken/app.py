"""Fails at import: awslambdaric reports it with POST /runtime/init/error."""
raise RuntimeError("cannot start: missing configuration")


def handler(event, context):
    return event
