import AerieCore

/// The JSON schemas of the Gallery API for `/openapi.json`.
enum GallerySchemas {
    static func property(_ type: String, _ description: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        .object(["type": .string(type), "description": .string(description)].merging(extra) { $1 })
    }

    static func nullable(_ type: String, _ description: String) -> JSONValue {
        .object(["type": .array([.string(type), "null"]), "description": .string(description)])
    }

    static let tag: JSONValue = .object([
        "type": "object", "required": .array(["label", "score"]),
        "properties": .object(["label": property("string", "An ImageNet class name."),
                               "score": property("number", "The classifier's probability, 0–1.", ["minimum": 0, "maximum": 1])]),
    ])

    static let photo: JSONValue = .object([
        "type": "object",
        "required": .array(["id", "filename", "content_type", "width", "height", "bytes", "sha256", "status", "tags", "caption",
                            "duplicate_of", "created_at", "url", "thumbnails"]),
        "properties": .object([
            "id": property("string", "The photo's id (time-ordered)."),
            "filename": property("string", "The uploaded file's name."),
            "content_type": .object(["type": "string", "enum": .array(["image/jpeg", "image/png", "image/webp"])]),
            "width": property("integer", "Pixels, after the EXIF orientation is applied."),
            "height": property("integer", "Pixels, after the EXIF orientation is applied."),
            "bytes": property("integer", "The original's size."),
            "sha256": property("string", "Hex SHA-256 of the original's bytes."),
            "status": .object(["type": "string", "enum": .array(["processing", "ready", "failed"]),
                               "description": "ready: tags, both thumbnails and the search vector are done."]),
            "tags": .object(["type": "array", "items": tag, "description": "The top-3 labels of the classifier, best first."]),
            "caption": nullable("string", "The owner's caption."),
            "duplicate_of": nullable("string", "For an exact re-upload: the id of the first copy."),
            "created_at": property("string", "Upload time (RFC 3339).", ["format": "date-time"]),
            "url": property("string", "A signed link to the image (location metadata removed), valid 15 minutes without credentials."),
            "thumbnails": .object([
                "type": "object", "required": .array(["small", "medium"]),
                "properties": .object(["small": nullable("string", "Signed link to the 256 px thumbnail; null until ready."),
                                       "medium": nullable("string", "Signed link to the 1024 px thumbnail; null until ready.")]),
            ]),
            "perceptual_hash": property("string", "The 64-bit DCT perceptual hash, hex (near-duplicates are a few bits apart)."),
            "score": property("number", "With q: cosine similarity of the photo's tags and caption to the query."),
            "error": property("string", "Why processing failed (status failed)."),
        ]),
    ])

    static let share: JSONValue = .object([
        "type": "object", "required": .array(["token", "url", "photo", "expires_at", "created_at"]),
        "properties": .object([
            "token": property("string", "The link's token (revoke with DELETE …/shares/{token})."),
            "url": property("string", "The link: works without credentials until it expires or is revoked."),
            "photo": property("string", "The photo's id."),
            "expires_at": property("string", "RFC 3339.", ["format": "date-time"]),
            "created_at": property("string", "RFC 3339.", ["format": "date-time"]),
        ]),
    ])

    static var all: [String: JSONValue] {
        [
            "GalleryUpload": .object([
                "oneOf": .array([.object(["$ref": "#/components/schemas/GalleryPhoto"]),
                                 .object(["type": "object", "required": .array(["items"]),
                                          "properties": .object(["items": .object(["type": "array", "items": .object(["$ref": "#/components/schemas/GalleryPhoto"])])]),
                                          "description": "A multipart upload's photos."])]),
            ]),
            "GalleryPhoto": photo,
            "GalleryPhotoList": .object([
                "type": "object", "required": .array(["items", "next_cursor"]),
                "properties": .object(["items": .object(["type": "array", "items": .object(["$ref": "#/components/schemas/GalleryPhoto"])]),
                                       "next_cursor": nullable("string", "Pass as cursor for the next page; null on the last.")]),
            ]),
            "GalleryPhotoPatch": .object([
                "type": "object", "additionalProperties": false,
                "properties": .object(["caption": .object(["type": .array(["string", "null"]), "maxLength": 2000,
                                                           "description": "The caption; null or \"\" clears it."])]),
            ]),
            "GalleryShareRequest": .object([
                "type": "object",
                "properties": .object(["expires_in": property("number", "Seconds the link works, 1 to 30 days; default 7 days.",
                                                              ["minimum": 1, "maximum": 2_592_000])]),
            ]),
            "GalleryShare": share,
            "GalleryShareList": .object([
                "type": "object", "required": .array(["items"]), "properties": .object(["items": .object(["type": "array", "items": share])]),
            ]),
            "GalleryDuplicates": .object([
                "type": "object", "required": .array(["groups"]),
                "properties": .object(["groups": .object(["type": "array", "items": .object(["type": "array", "items": .object(["type": "string"])]),
                                                          "description": "Each group: ids of photos showing the same picture, oldest first."])]),
            ]),
            "GalleryUsage": .object([
                "type": "object", "required": .array(["used_bytes", "quota_bytes"]),
                "properties": .object(["used_bytes": property("integer", "Bytes of your originals."),
                                       "quota_bytes": property("integer", "Your quota.")]),
            ]),
        ]
    }
}
