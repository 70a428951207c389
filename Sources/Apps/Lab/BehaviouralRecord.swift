import AerieCore
import Foundation

/// A behavioural record, as the seed's event store keeps them: one message between two of the Lab's services
/// (catalog, training, evaluation, session, storage; client for the caller), appended to the topic of its aggregator.
/// The event key is the other service. Records of the session and storage aggregators that change an experiment
/// carry its full snapshot in `data`, which is what the draft and committed stores are projected from.
public struct BehaviouralRecord: Codable, Sendable, Equatable {
    public enum Service: String, Codable, Sendable, CaseIterable { case client, catalog, training, evaluation, session, storage }

    public var sourceService: Service
    public var destinationService: Service
    /// `send` or `receive`, from the aggregator's point of view.
    public var messageType: String
    /// `sync` or `async`.
    public var comType: String
    /// The seed's payload type (`training_req`, `train_data_record`, `archive_data`…).
    public var payload: String
    /// Milliseconds since 1970.
    public var timestamp: Int64
    /// What the message carried: `{"experiment": snapshot}` for a change of a draft or committed experiment,
    /// `{"deleted": snapshot}` for a deleted draft, otherwise a short summary.
    public var data: JSONValue?
    /// For a re-emitted record: `topic@offset` of the original.
    public var reemittedFrom: String?

    enum CodingKeys: String, CodingKey {
        case payload, timestamp, data
        case sourceService = "source_service"
        case destinationService = "destination_service"
        case messageType = "message_type"
        case comType = "com_type"
        case reemittedFrom = "reemitted_from"
    }

    /// The event key: the service at the other end of the message.
    var key: String { (messageType == "send" ? destinationService : sourceService).rawValue }

    /// The aggregators (topics), named as in the seed.
    public static let topics = ["catalog", "training", "evaluation", "session", "sessionRecord", "sessionUpdate", "storage", "storageRecord"]
}

/// The three queues between the services, named as in the seed.
enum LabQueues {
    /// training → session: a trained (or failed) model for a draft.
    static let sessionRecord = "sessionRecord"
    /// evaluation → session: metrics for a draft.
    static let sessionUpdate = "sessionUpdate"
    /// session → storage: a draft to archive as committed.
    static let storageRecord = "storageRecord"
    static let all = [sessionRecord, sessionUpdate, storageRecord]
}
