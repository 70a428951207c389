import AerieCore
import Foundation

/// An experiment as the draft (session) and committed stores keep it: the full settings, where training and
/// evaluation stand, and the metrics on the held-out split. `id` is the internal id; clients only ever see its
/// opaque form (``ExperimentIDs``).
public struct Experiment: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case draft, committed }
    public enum Status: String, Codable, Sendable, CaseIterable {
        case queued, training, trained, evaluating, evaluated, failed
        /// Nothing runs for the experiment in this status.
        var isSettled: Bool { self == .trained || self == .evaluated || self == .failed }
    }

    public struct Metrics: Codable, Sendable, Equatable {
        public var accuracy: Double
        /// Macro precision and recall, as the seed reports them.
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var confusionMatrix: [[Int]]
        public var labels: [String]

        enum CodingKeys: String, CodingKey {
            case accuracy, precision, recall, f1, labels
            case confusionMatrix = "confusion_matrix"
        }
    }

    public var id: String
    public var owner: String
    public var state: State
    public var status: Status
    public var settings: ExperimentSettings
    public var metrics: Metrics?
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// Bumped by every change; a projection keeps the highest it has seen, so replaying the log is idempotent.
    public var revision: Int
    /// Bumped by every change of settings; a training result for older settings is dropped.
    public var settingsRevision: Int
    /// The trained model's object key in bucket `lab` (with `.split.json` beside it: the held-out rows).
    public var modelKey: String?

    enum CodingKeys: String, CodingKey {
        case id, owner, state, status, settings, metrics, error, revision
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case settingsRevision = "settings_revision"
        case modelKey = "model_key"
    }

    /// The API body, with the opaque id.
    func body(id opaque: String) -> JSONValue {
        var metricsBody = JSONValue.null
        if let metrics {
            metricsBody = .object([
                "accuracy": .number(metrics.accuracy), "precision": .number(metrics.precision), "recall": .number(metrics.recall),
                "f1": .number(metrics.f1), "labels": .array(metrics.labels.map(JSONValue.string)),
                "confusion_matrix": .array(metrics.confusionMatrix.map { .array($0.map { .number(Double($0)) }) }),
            ])
        }
        let settingsBody = (try? JSONCoding.decode(JSONValue.self, from: JSONCoding.encode(settings))) ?? .null
        return .object([
            "id": .string(opaque), "owner": .string(owner), "state": .string(state.rawValue), "status": .string(status.rawValue),
            "settings": settingsBody, "metrics": metricsBody, "error": error.map(JSONValue.string) ?? .null,
            "created_at": .string(LabTime.string(createdAt)), "updated_at": .string(LabTime.string(updatedAt)),
        ])
    }
}

enum LabTime {
    static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
