import AerieCore

/// The JSON schemas of the Imagine API for `/openapi.json`.
enum ImagineSchemas {
    /// A property that may be null.
    static func nullable(_ type: String, _ description: String) -> JSONValue {
        .object(["type": .array([.string(type), "null"]), "description": .string(description)])
    }

    static func property(_ type: String, _ description: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        .object(["type": .string(type), "description": .string(description)].merging(extra) { $1 })
    }

    static let parameters: JSONValue = .object([
        "type": "object",
        "properties": .object([
            "negative_prompt": property("string", "What the image should not show.", ["maxLength": 500]),
            "width": property("integer", "Pixels, a multiple of 8 from 64 to 1024; default the model's size.", ["minimum": 64, "maximum": 1024, "multipleOf": 8]),
            "height": property("integer", "Pixels, a multiple of 8 from 64 to 1024; default the model's size.", ["minimum": 64, "maximum": 1024, "multipleOf": 8]),
            "steps": property("integer", "Denoising steps, default 20.", ["minimum": 1, "maximum": 100]),
            "guidance": property("number", "Classifier-free guidance scale, default 7.5.", ["minimum": 0, "maximum": 20]),
            "seed": property("integer", "Seed of the initial noise; random when absent. An explicit seed matches only images of that seed.",
                             ["minimum": 0, "maximum": 4_294_967_295]),
            "scheduler": .object(["type": "string", "enum": .array(["ddim", "pndm", "euler", "euler_ancestral"]),
                                  "description": "Default: the model's scheduler."]),
        ]),
    ])

    static var all: [String: JSONValue] {
        var request = parameters.objectValue ?? [:]
        var properties = request["properties"]?.objectValue ?? [:]
        properties["prompt"] = property("string", "What to draw, 1–500 characters.", ["minLength": 1, "maxLength": 500])
        request["properties"] = .object(properties)
        request["required"] = .array(["prompt"])
        request["additionalProperties"] = false
        let image: JSONValue = .object([
            "type": "object",
            "properties": .object([
                "id": property("string", "The image record's id."),
                "prompt": property("string", "The prompt of this request."),
                "image_url": property("string", "A signed link to the PNG that works without credentials until it expires."),
                "cache": .object(["type": "string", "enum": .array(["hit", "miss"])]),
                "similarity": nullable("number", "Cosine similarity to the matched prompt (hit) or the nearest one (miss); null when none."),
                "matched_prompt": nullable("string", "The prompt that made the image, only when that image was the caller's (else null)."),
                "parameters": parameters,
                "created_at": property("string", "RFC 3339."),
                "hits": property("integer", "Cache hits served by the stored image."),
            ]),
        ])
        return [
            "ImagineRequest": .object(request),
            "ImagineImage": image,
            "ImagineImageList": .object(["type": "object", "properties": .object([
                "items": .object(["type": "array", "items": .object(["$ref": "#/components/schemas/ImagineImage"])]),
                "next_cursor": nullable("string", "Pass as cursor for the next page; null on the last."),
            ])]),
            "ImagineCache": .object(["type": "object", "description": "Entries, bytes, limits, threshold, scope, and hits and misses since start."]),
        ]
    }
}
