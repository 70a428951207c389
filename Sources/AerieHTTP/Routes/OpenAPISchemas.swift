import AerieCore

/// The named schemas routes refer to (`#/components/schemas/<name>`).
enum OpenAPISchemas {
    /// Builds an object schema from `field: type` pairs. Types: `string`, `integer`, `number`, `boolean`,
    /// `date-time`, `any`, `object`, `[T]` for arrays, `$Name` for references.
    static func object(_ fields: KeyValuePairs<String, String>, required: [String] = []) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for (name, type) in fields { properties[name] = schema(type) }
        var result: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { result["required"] = .array(required.map(JSONValue.string)) }
        return .object(result)
    }

    static func schema(_ type: String) -> JSONValue {
        if type.hasPrefix("[") && type.hasSuffix("]") {
            return .object(["type": "array", "items": schema(String(type.dropFirst().dropLast()))])
        }
        if type.hasPrefix("$") { return .object(["$ref": .string("#/components/schemas/\(type.dropFirst())")]) }
        switch type {
        case "date-time": return .object(["type": "string", "format": "date-time"])
        case "any": return .object([:])
        case "string?": return .object(["type": .array(["string", "null"])])
        default: return .object(["type": .string(type)])
        }
    }

    static func list(_ item: String) -> JSONValue {
        object(["items": "[$\(item)]", "next_cursor": "string?"], required: ["items"])
    }

    static let all: [String: JSONValue] = [
        "Problem": object(["type": "string", "title": "string", "status": "integer", "detail": "string", "instance": "string",
                           "errors": "[$FieldError]", "request_id": "string"], required: ["type", "title", "status", "detail", "instance"]),
        "FieldError": object(["pointer": "string", "parameter": "string", "detail": "string"], required: ["detail"]),
        "Health": object(["status": "string"], required: ["status"]),
        "CreateVectorCollection": .object([
            "type": "object", "required": ["dimensions"],
            "properties": .object([
                "dimensions": .object(["type": "integer", "minimum": 1, "maximum": .number(Double(VectorRules.maxDimensions))]),
                "metric": .object(["type": "string", "enum": ["cosine", "dot", "euclidean"], "default": "cosine"]),
            ]),
        ]),
        "VectorCollection": object(["name": "string", "dimensions": "integer", "metric": "string", "count": "integer"],
                                   required: ["name", "dimensions", "metric", "count"]),
        "VectorCollectionList": object(["items": "[$VectorCollection]"], required: ["items"]),
        "VectorItem": object(["vector": "[number]", "metadata": "object"], required: ["vector"]),
        "StoredVectorItem": object(["id": "string", "vector": "[number]", "metadata": "object"], required: ["id", "vector", "metadata"]),
        "VectorQuery": .object([
            "type": "object", "required": ["vector"],
            "properties": .object([
                "vector": .object(["type": "array", "items": .object(["type": "number"])]),
                "k": .object(["type": "integer", "minimum": 0, "maximum": .number(Double(VectorRules.maxK)), "default": 10]),
                "filter": .object(["type": "object", "description": "Equality {\"kind\": \"y\"}; $eq, $ne, $in, $nin, $gt, $gte, $lt, $lte, $exists; $and, $or, $not."]),
                "exact": .object(["type": "boolean", "default": false]),
            ]),
        ]),
        "VectorMatch": object(["id": "string", "score": "number", "metadata": "object"], required: ["id", "score", "metadata"]),
        "VectorMatchList": object(["items": "[$VectorMatch]"], required: ["items"]),
        "OpenAPI": .object(["type": "object", "description": "This document."]),
        "LoginRequest": object(["username": "string", "password": "string"], required: ["username", "password"]),
        "PasswordChange": object(["current": "string", "new": "string"], required: ["current", "new"]),
        "Token": object(["token": "string", "expires_at": "date-time"], required: ["token", "expires_at"]),
        "Me": object(["username": "string", "role": "string", "credential": "string", "scopes": "[string]", "key_id": "string"]),
        "CreateUser": object(["username": "string", "password": "string", "role": "string"], required: ["username", "password"]),
        "User": object(["username": "string", "role": "string", "disabled": "boolean", "created_at": "date-time"]),
        "UserList": list("User"),
        "CreateKey": object(["name": "string", "owner": "string", "scopes": "[string]"], required: ["name", "scopes"]),
        "Key": object(["id": "string", "name": "string", "owner": "string", "scopes": "[string]", "created_at": "date-time", "revoked_at": "date-time"]),
        "CreatedKey": object(["key": "string", "id": "string", "name": "string", "owner": "string", "scopes": "[string]", "created_at": "date-time"]),
        "KeyList": list("Key"),
        "Node": object(["id": "string", "host": "string", "pid": "integer", "roles": "[string]", "address": "string", "started_at": "date-time",
                        "heartbeat_at": "date-time", "load1": "number", "running": "integer", "alive": "boolean"]),
        "NodeList": list("Node"),
        "CreateS3Credential": object(["user": "string", "read_only": "boolean"]),
        "S3Credential": object(["access_key_id": "string", "owner": "string", "read_only": "boolean", "created_at": "date-time"]),
        "CreatedS3Credential": object(["access_key_id": "string", "secret_access_key": "string", "owner": "string", "read_only": "boolean",
                                       "created_at": "date-time"]),
        "S3CredentialList": list("S3Credential"),
        "Bucket": object(["name": "string", "created_at": "date-time"]),
        "BucketList": list("Bucket"),
        "Object": object(["bucket": "string", "key": "string", "size": "integer", "etag": "string", "content_type": "string",
                          "metadata": "object", "last_modified": "date-time"]),
        "ObjectList": object(["items": "[$Object]", "common_prefixes": "[string]", "next_cursor": "string?"], required: ["items", "common_prefixes"]),
        "CreateQueue": object(["name": "string", "visibility_timeout": "number", "max_attempts": "integer", "backoff_base": "number",
                               "max_backoff": "number", "deduplication_window": "number"], required: ["name"]),
        "Queue": object(["name": "string", "visibility_timeout": "number", "max_attempts": "integer", "backoff_base": "number",
                         "max_backoff": "number", "deduplication_window": "number", "stats": "$QueueStats"]),
        "QueueStats": object(["visible": "integer", "in_flight": "integer", "delayed": "integer", "dead_letters": "integer"]),
        "QueueList": list("Queue"),
        "SendMessages": object(["messages": "[$OutgoingMessage]"], required: ["messages"]),
        "OutgoingMessage": object(["body": "any", "delay": "number", "deduplication_id": "string"], required: ["body"]),
        "MessageIds": object(["ids": "[string]"], required: ["ids"]),
        "Receive": object(["max": "integer", "visibility_timeout": "number"]),
        "Message": object(["id": "string", "body": "any", "attempts": "integer", "receipt": "string", "sent_at": "date-time"]),
        "MessageList": list("Message"),
        "Ack": object(["receipt": "string"], required: ["receipt"]),
        "Nack": object(["receipt": "string", "error": "string", "delay": "number"], required: ["receipt"]),
        "DeadLetter": object(["id": "string", "body": "any", "attempts": "integer", "last_error": "string", "sent_at": "date-time", "dead_at": "date-time"]),
        "DeadLetterList": list("DeadLetter"),
        "Redrive": object(["ids": "[string]"]),
        "Redriven": object(["redriven": "integer"], required: ["redriven"]),
        "TableSchema": object(["name": "string", "partition_key": "string", "sort_key": "string", "indexes": "[$TableIndex]",
                               "ttl_attribute": "string"], required: ["name", "partition_key"]),
        "TableIndex": object(["name": "string", "partition_key": "string", "sort_key": "string"], required: ["name", "partition_key"]),
        "TableList": list("TableSchema"),
        "Item": .object(["type": "object", "description": "A JSON object carrying the table's key attributes."]),
        "StoredItem": object(["item": "object", "version": "integer", "owner": "string", "updated_at": "date-time"]),
        "StoredItemList": list("StoredItem"),
        "TableQuery": object(["index": "string", "partition": "any", "sort": "$SortCondition", "filter": "object",
                              "descending": "boolean", "limit": "integer", "cursor": "string"], required: ["partition"]),
        "SortCondition": object(["op": "string", "value": "any", "value2": "any"], required: ["op", "value"]),
        "AppendEvents": object(["events": "[$OutgoingEvent]"], required: ["events"]),
        "OutgoingEvent": object(["key": "string", "payload": "any"], required: ["payload"]),
        "Offsets": object(["offsets": "[integer]"], required: ["offsets"]),
        "Event": object(["topic": "string", "offset": "integer", "key": "string", "payload": "any", "time": "date-time"]),
        "EventList": list("Event"),
        "Topic": object(["name": "string", "next_offset": "integer"]),
        "TopicList": list("Topic"),
        "ConsumerOffset": object(["group": "string", "topic": "string", "offset": "integer", "updated_at": "date-time"]),
        "CommitOffset": object(["offset": "integer"], required: ["offset"]),
        "Function": object(["name": "string", "description": "string", "concurrency": "integer", "max_waiting": "integer",
                            "timeout": "number", "retries": "integer", "triggers": "[string]", "warm": "boolean", "admin_only": "boolean",
                            "stats": "$FunctionStats"]),
        "FunctionStats": object(["invocations": "integer", "errors": "integer", "cold_starts": "integer", "in_flight": "integer",
                                 "waiting": "integer", "p50_ms": "number", "p95_ms": "number"]),
        "FunctionList": list("Function"),
        "FunctionInput": .object(["description": "The function's input as JSON."]),
        "FunctionOutput": .object(["description": "The function's output as JSON."]),
        "InvocationAccepted": object(["id": "string", "status": "string"], required: ["id"]),
        "Invocation": object(["id": "string", "function": "string", "trigger": "object", "owner": "string", "status": "string",
                              "async": "boolean", "attempts": "integer", "created_at": "date-time", "started_at": "date-time",
                              "finished_at": "date-time", "duration_ms": "number", "cold_start": "boolean", "init_ms": "number",
                              "error": "object", "progress": "number", "output": "any"]),
        "InvocationList": list("Invocation"),
        "InvocationEvent": object(["sequence": "integer", "kind": "string", "data": "any", "time": "date-time"]),
        "InvocationEventList": list("InvocationEvent"),
    ]
}
