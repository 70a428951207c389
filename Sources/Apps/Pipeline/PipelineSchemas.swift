import AerieCore

/// The JSON schemas of the Pipeline API for `/openapi.json` (the records are Codable with snake_case keys; optional
/// fields are left out when unset).
enum PipelineSchemas {
    static func property(_ type: String, _ description: String) -> JSONValue {
        .object(["type": .string(type), "description": .string(description)])
    }

    static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }

    static let stage: JSONValue = .object(["type": "string", "enum": ["queued", "preprocessing", "training", "ready", "failed"],
                                           "description": "Where the version is: queued → preprocessing → training → ready, or failed."])

    /// One version of a dataset.
    static let version: JSONValue = .object([
        "type": "object", "required": ["name", "version", "stage"],
        "properties": [
            "name": property("string", "The dataset's name."), "owner": property("string", "Who uploaded it."),
            "version": property("integer", "1 for the first upload, then one more per upload of the same name."), "stage": stage,
            "error": property("string", "Why it failed (stage failed)."), "progress": property("number", "0–1 within the current stage."),
            "message": property("string", "What the current stage is doing."),
            "options": property("object", "The training request: target, model, task, parameters, test_size, seed."),
            "source": property("object", "The uploaded CSV: key, etag, size, uploaded_at."),
            "timings": property("object", "When each stage started and how long it ran."),
            "report": property("object", "The preprocessing report: rows kept and dropped, columns and their types."),
            "model": property("object", "The trained model's summary (stage ready): metrics, confusion matrix, schema."),
        ],
    ])

    static var all: [String: JSONValue] {
        [
            "PipelineDatasetVersion": version,
            "PipelineDataset": .object([
                "allOf": [ref("PipelineDatasetVersion")],
                "description": "A dataset: its latest version's record, with every version (newest first) and the version that serves predictions.",
                "properties": ["versions": .object(["type": "array", "items": ref("PipelineDatasetVersion")]),
                               "serving_version": .object(["type": ["integer", "null"], "description": "The latest ready version; null before one is ready."])],
            ]),
            "PipelineDatasetList": .object(["type": "object", "required": ["items"], "properties": [
                "items": .object(["type": "array", "items": ref("PipelineDataset")]),
                "next_cursor": .object(["type": ["string", "null"]]),
            ]]),
            "PipelineModel": .object([
                "type": "object", "description": "The serving (latest ready) version's model summary: metrics, confusion matrix, schema.",
                "properties": [
                    "versions": .object(["type": "array", "items": ["type": "integer"], "description": "The ready versions, newest first."]),
                    "latest_stage": stage, "trained_at": .object(["type": ["string", "null"], "format": "date-time"]),
                ],
            ]),
            "PipelineModelList": .object(["type": "object", "required": ["items"], "properties": [
                "items": .object(["type": "array", "items": ref("PipelineModel")]),
                "next_cursor": .object(["type": ["string", "null"]]),
            ]]),
            "PipelinePredictRequest": .object([
                "type": "object", "required": ["rows"], "additionalProperties": false,
                "properties": ["rows": .object(["type": "array", "minItems": 1, "items": ["type": "object"],
                                                "description": "One object per row to predict: {\"<column>\": value, …} with the model's feature columns."])],
            ]),
            "PipelinePrediction": .object([
                "type": "object", "required": ["model", "version", "predictions"],
                "properties": [
                    "model": property("string", "The dataset's name."), "version": property("integer", "The version that predicted."),
                    "predictions": .object(["type": "array", "items": ["type": ["string", "number"]], "description": "One per row: a label or a value."]),
                    "probabilities": .object(["type": "array", "items": ["type": "object"], "description": "Classification: one object per row, class → probability."]),
                ],
            ]),
        ]
    }
}
