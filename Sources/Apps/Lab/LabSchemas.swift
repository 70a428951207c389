import AerieCore

/// The JSON schemas of the Lab API for `/openapi.json`.
enum LabSchemas {
    static func property(_ type: String, _ description: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        .object(["type": .string(type), "description": .string(description)].merging(extra) { $1 })
    }

    static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        .object(["type": "object", "properties": .object(properties), "required": .array(required.map(JSONValue.string))])
    }

    static func array(_ items: JSONValue, _ description: String = "") -> JSONValue {
        .object(["type": "array", "items": items, "description": .string(description)])
    }

    static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }

    static let spec = object([
        "name": property("string", "The hyperparameter's name."),
        "type": .object(["type": "string", "enum": ["int", "float", "string", "bool"]]),
        "default": .object(["description": "The value an omitted hyperparameter takes."]),
        "min": .object(["type": ["number", "null"], "description": "Lowest allowed value (numbers)."]),
        "max": .object(["type": ["number", "null"], "description": "Highest allowed value (numbers)."]),
        "options": .object(["type": ["array", "null"], "items": ["type": "string"], "description": "Allowed values (strings)."]),
    ], required: ["name", "type", "default", "min", "max", "options"])

    static let dataset = object([
        "name": property("string", "The dataset's name, as requests give it."),
        "task": property("string", "classification."),
        "description": property("string", "What the data is and where it comes from."),
        "features": array(["type": "string"], "Feature columns."),
        "label": property("string", "The column to predict."),
        "records": property("integer", "Rows."),
        "preprocessing": array(object(["step": property("integer", "Order."), "computation": property("string", "What is done.")], required: ["step", "computation"])),
    ], required: ["name", "task", "description", "features", "label", "records", "preprocessing"])

    static let experimentRequestProperties: [String: JSONValue] = [
        "dataset": property("string", "A catalog dataset."),
        "task": property("string", "The task; the dataset's when omitted."),
        "model": property("string", "A catalog model of the dataset's task."),
        "test_split": property("number", "The held-out fraction, strictly between 0 and 1; default 0.2.", ["exclusiveMinimum": 0, "exclusiveMaximum": 1]),
        "hyperparameters": .object(["type": "object", "description": "The model's hyperparameters by name; omitted ones take the catalog default."]),
        "loss": property("string", "A loss of the model's learning pairs; the first pair's when omitted."),
        "algorithm": property("string", "The learning algorithm paired with the loss."),
        "learning_hyperparameters": .object(["type": "object", "description": "The pair's hyperparameters by name; omitted ones take the default."]),
    ]

    static let metrics = object([
        "accuracy": property("number", "Held-out accuracy."), "precision": property("number", "Macro precision."),
        "recall": property("number", "Macro recall."), "f1": property("number", "Macro F1."),
        "confusion_matrix": array(array(["type": "integer"]), "Rows: true class, columns: predicted class, in the order of labels."),
        "labels": array(["type": "string"], "The classes."),
    ], required: ["accuracy", "precision", "recall", "f1", "confusion_matrix", "labels"])

    static let record = object([
        "topic": property("string", "The aggregator."), "offset": property("integer", "Position in the topic."),
        "key": property("string", "The other service."), "timestamp": property("integer", "Milliseconds since 1970."),
        "time": property("string", "The same time in RFC 3339.", ["format": "date-time"]),
        "source_service": property("string", "client, catalog, training, evaluation, session or storage."),
        "destination_service": property("string", "The receiving service."),
        "message_type": .object(["type": "string", "enum": ["send", "receive"]]),
        "com_type": .object(["type": "string", "enum": ["sync", "async"]]),
        "payload": property("string", "The seed's payload type (training_req, train_data_record, archive_data…)."),
        "data": .object(["description": "What the message carried: the experiment snapshot for changes of the stores."]),
        "reemitted_from": .object(["type": ["string", "null"], "description": "topic@offset of the original, for a re-emitted record."]),
    ], required: ["topic", "offset", "timestamp", "source_service", "destination_service", "message_type", "com_type", "payload"])

    static let consumer = object([
        "group": property("string", "The consumer group."), "topic": property("string", "The topic."),
        "offset": property("integer", "The next offset the group reads."), "lag": property("integer", "Records not read yet."),
    ], required: ["group", "topic", "offset", "lag"])

    static var all: [String: JSONValue] {
        [
            "LabCatalog": object([
                "datasets": array(dataset),
                "models": array(object(["name": property("string", "The model."), "task": property("string", "Its task."),
                                        "hyperparameters": array(spec)], required: ["name", "task", "hyperparameters"])),
                "learning": array(object(["model": property("string", "The model."), "loss": property("string", "The loss."),
                                          "algorithm": property("string", "The learning algorithm."), "hyperparameters": array(spec)],
                                         required: ["model", "loss", "algorithm", "hyperparameters"])),
                "metrics": array(object(["task": property("string", "The task."), "name": property("string", "The metric.")], required: ["task", "name"])),
                "version": property("integer", "Goes up by one with each change."),
            ], required: ["datasets", "models", "learning", "metrics", "version"]),
            "LabDataset": dataset,
            "LabDatasetRequest": object([
                "name": property("string", "The new dataset's name."), "task": property("string", "classification."),
                "bucket": property("string", "Bucket of the CSV."), "key": property("string", "Key of the CSV."),
                "label": property("string", "The column to predict; every other column is a feature."),
                "description": property("string", "Optional description."),
            ], required: ["name", "task", "bucket", "key", "label"]),
            "LabExperimentRequest": object(experimentRequestProperties, required: ["dataset", "model"]),
            "LabExperimentPatch": object(experimentRequestProperties),
            "LabExperiment": object([
                "id": property("string", "Opaque id (AES-GCM of the internal id and the owner)."),
                "owner": property("string", "The user who trained it."),
                "state": .object(["type": "string", "enum": ["draft", "committed"]]),
                "status": .object(["type": "string", "enum": ["queued", "training", "trained", "evaluating", "evaluated", "failed"]]),
                "settings": object(experimentRequestProperties),
                "metrics": .object(["oneOf": [metrics, ["type": "null"]]]),
                "error": .object(["type": ["string", "null"], "description": "Why training or evaluation failed."]),
                "created_at": property("string", "RFC 3339.", ["format": "date-time"]),
                "updated_at": property("string", "RFC 3339.", ["format": "date-time"]),
            ], required: ["id", "owner", "state", "status", "settings", "metrics", "error", "created_at", "updated_at"]),
            "LabExperimentList": object(["items": array(ref("LabExperiment")),
                                         "next_cursor": .object(["type": ["string", "null"], "description": "Pass as cursor for the next page."])],
                                        required: ["items", "next_cursor"]),
            "LabRecord": record,
            "LabRecordList": object(["items": array(record), "next_cursor": .object(["type": ["string", "null"]])], required: ["items", "next_cursor"]),
            "LabConsumers": object(["groups": array(consumer),
                                    "topics": array(object(["name": property("string", "Topic."), "next_offset": property("integer", "Its end.")]))],
                                   required: ["groups", "topics"]),
            "LabConsumer": consumer,
            "LabRewind": object(["topic": property("string", "A Lab topic."), "offset": property("integer", "The group's new next offset.", ["minimum": 0])],
                                required: ["topic", "offset"]),
        ]
    }
}
