import AerieCore

/// The JSON schemas of the Faces API for `/openapi.json`.
enum FacesSchemas {
    static func property(_ type: String, _ description: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        .object(["type": .string(type), "description": .string(description)].merging(extra) { $1 })
    }

    static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }

    static func object(_ required: [String], _ properties: [String: JSONValue], additional: Bool = true) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "object", "required": .array(required.map(JSONValue.string)), "properties": .object(properties)]
        if !additional { schema["additionalProperties"] = false }
        return .object(schema)
    }

    static func list(_ item: String) -> JSONValue {
        object(["items", "next_cursor"], ["items": .object(["type": "array", "items": ref(item)]),
                                          "next_cursor": .object(["type": .array(["string", "null"]), "description": "Pass as cursor for the next page; null on the last."])])
    }

    static let box = object(["x", "y", "width", "height"], [
        "x": property("integer", "Left edge, in the photo's pixels (after its EXIF orientation)."), "y": property("integer", "Top edge."),
        "width": property("integer", "Width in pixels."), "height": property("integer", "Height in pixels."),
    ])

    static let time = property("string", "RFC 3339.", ["format": "date-time"])

    static var all: [String: JSONValue] {
        [
            "FacesBox": box,
            "FacesPersonCreate": object(["name"], ["name": property("string", "The person's name.", ["minLength": 1, "maxLength": 200])], additional: false),
            "FacesPerson": object(["id", "name", "faces"], ["id": property("string", "The person's id."), "name": property("string", "Their name."),
                                                            "faces": property("integer", "How many faces are enrolled."), "created_at": time]),
            "FacesPersonList": list("FacesPerson"),
            "FacesFace": object(["id", "person", "box", "image"], [
                "id": property("string", "The face's id."), "person": property("string", "The person's id."), "box": ref("FacesBox"),
                "source": .object(["type": "string", "enum": ["upload", "cluster"], "description": "Enrolled from a photo, or named from a cluster."]),
                "created_at": time, "image": property("string", "The path of the face's crop (JPEG, with your credentials)."),
            ]),
            "FacesFaceList": object(["items"], ["items": .object(["type": "array", "items": ref("FacesFace")])]),
            "FacesEnrolment": object(["person", "face"], ["person": ref("FacesPerson"), "face": ref("FacesFace")]),
            "FacesRecognition": object(["threshold", "faces"], [
                "threshold": property("number", "The distance below which a face is a match."),
                "photo": property("string", "The id given to this photo (its unknown faces are kept for clustering under it)."),
                "faces": .object(["type": "array", "items": object(["box", "person", "distance"], [
                    "box": ref("FacesBox"),
                    "person": .object(["oneOf": [object(["id", "name"], ["id": property("string", "The person's id."), "name": property("string", "Their name.")]),
                                                 .object(["type": "null"])],
                                       "description": "The closest of your people when below the threshold, else null."]),
                    "distance": .object(["type": ["number", "null"], "description": "Distance to the closest enrolled face of yours; null when you have none."]),
                ])]),
            ]),
            "FacesVerification": object(["same", "distance", "threshold"], [
                "same": property("boolean", "Whether the distance is below the threshold."), "distance": property("number", "Euclidean distance of the two embeddings."),
                "threshold": property("number", "The threshold used."),
            ]),
            "FacesDetection": object(["faces"], ["faces": .object(["type": "array", "items": object(["box", "landmarks"], [
                "box": ref("FacesBox"),
                "landmarks": .object(["type": "array", "minItems": 5, "maxItems": 5, "description": "dlib's 5 points: eye corners and the base of the nose, [x, y] in pixels.",
                                      "items": .object(["type": "array", "items": ["type": "number"], "minItems": 2, "maxItems": 2])]),
            ])])]),
            "FacesClusterList": object(["groups"], ["groups": .object(["type": "array", "items": object(["id", "faces"], [
                "id": property("string", "Stable until a face joins or leaves the group."),
                "faces": .object(["type": "array", "items": object(["photo", "box"], [
                    "id": property("string", "The face's id."), "photo": property("string", "The recognized photo's id."), "box": ref("FacesBox"),
                    "seen_at": time, "image": property("string", "The path of the face's crop."),
                ])]),
            ])])]),
            "FacesClusterName": object([], ["name": property("string", "A new person's name.", ["minLength": 1, "maxLength": 200]),
                                            "person_id": property("string", "Or: the id of one of your people to add the faces to.")], additional: false),
            "FacesClusterNamed": object(["person", "faces"], ["person": ref("FacesPerson"), "faces": .object(["type": "array", "items": ref("FacesFace")])]),
            "FacesWatchCreate": object(["person_id"], [
                "person_id": property("string", "One of your people."), "email": property("string", "Send an email here (the server needs --smtp-url).", ["format": "email"]),
                "webhook_url": property("string", "POST a signed JSON body here (http or https).", ["format": "uri"]),
            ], additional: false),
            "FacesWatch": object(["id", "person_id", "created_at"], [
                "id": property("string", "The watch's id."), "person_id": property("string", "The watched person."),
                "email": property("string", "Where email goes."), "webhook_url": property("string", "Where the webhook goes."), "created_at": time,
                "secret": property("string", "Only when a webhook watch is created: the key of X-Aerie-Signature (t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">)."),
            ]),
            "FacesWatchList": list("FacesWatch"),
        ]
    }
}
