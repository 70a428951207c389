import AerieCore
import Foundation
import Logging

extension FunctionRuntime {
    /// The consumer group a function's topic and object triggers read with.
    static func consumerGroup(_ function: String) -> String { "fn.\(function)" }

    func triggerLoop(_ host: FunctionHost, trigger: Trigger, index: Int) async {
        switch trigger {
        case .object(let bucket, let prefix, let suffix, let kinds):
            await followTopic(host, topic: ObjectEvent.topic) { record in
                guard let event = try? JSONCoding.decode(ObjectEvent.self, from: record.payload),
                      event.bucket == bucket, event.key.hasPrefix(prefix), event.key.hasSuffix(suffix), kinds.contains(event.kind) else {
                    return nil
                }
                return (record.payload, TriggerInfo(kind: .object, source: "\(event.bucket)/\(event.key)"), "object:\(record.offset)")
            }
        case .topic(let topic):
            await followTopic(host, topic: topic) { record in
                let payload = (try? JSONValue.parse(record.payload)) ?? .string(record.payload.base64EncodedString())
                var input: [String: JSONValue] = ["topic": .string(record.topic), "offset": .number(Double(record.offset)), "payload": payload]
                input["key"] = record.key.map(JSONValue.string) ?? .null
                return (JSONValue.object(input).encoded(), TriggerInfo(kind: .topic, source: "\(record.topic)@\(record.offset)"),
                        "topic:\(record.topic):\(record.offset)")
            }
        case .queue(let queue):
            let maxAttempts = (try? await primitives.queues.queue(queue))?.maxAttempts ?? 5
            await consume(host, queue: queue, source: .userQueue(maxAttempts: maxAttempts), reconcile: false)
        case .every, .cron:
            await runSchedule(host, trigger: trigger, index: index)
        }
    }

    /// Reads `topic` from the function's committed offset; for each event `match` accepts, queues an async
    /// invocation whose idempotency key names the event, so a crash between queueing and committing never
    /// invokes twice; then commits.
    private func followTopic(_ host: FunctionHost, topic: String,
                             match: @Sendable (EventRecord) -> (input: Data, trigger: TriggerInfo, key: String)?) async {
        let group = Self.consumerGroup(host.name)
        let events = primitives.events
        let wake = makeWakeSignal(host.name)
        // An append in this process (an object written through the primitives) wakes the dispatcher at once; the
        // poll remains for writes made by other processes.
        let subscription = configuration.wakeTriggers ? primitives.signals.subscribe(topic) { wake.signal() } : nil
        defer { if let subscription { primitives.signals.unsubscribe(subscription) } }
        var offset: Int64?
        while !Task.isCancelled {
            do {
                if offset == nil {
                    try await positionConsumerGroup(host, topic: topic)
                    offset = try await events.committedOffset(group: group, topic: topic)
                }
                guard var position = offset else {
                    await wake.wait(upTo: configuration.pollInterval)
                    continue
                }
                let batch = try await events.read(topic: topic, from: position, limit: 100)
                if batch.isEmpty {
                    await wake.wait(upTo: configuration.pollInterval)
                    continue
                }
                for record in batch {
                    if let (input, trigger, key) = match(record) {
                        _ = try await invokeAsync(host.name, input: input, trigger: trigger, owner: nil, idempotencyKey: key)
                        CrashPoint.reach("trigger.queued", host.name)
                    }
                    position = record.offset + 1
                    offset = position
                }
                try await events.commit(group: group, topic: topic, offset: position)
            } catch {
                if Task.isCancelled { return }
                logger.warning("A trigger could not read or dispatch events; retrying", metadata: [
                    "function": "\(host.name)", "topic": "\(topic)", "error": "\(error)",
                ])
                // Re-read the committed offset: anything after it is dispatched again, deduplicated by its key.
                offset = nil
                await wake.wait(upTo: configuration.pollInterval)
            }
        }
    }

    /// Fires the schedule at each tick; ticks are the same on every node (aligned to the epoch or the cron
    /// minute) and their idempotency keys make one node's invocation the only one.
    private func runSchedule(_ host: FunctionHost, trigger: Trigger, index: Int) async {
        var after = Date()
        let cron: CronSchedule?
        if case .cron(let expression) = trigger { cron = try? CronSchedule(expression) } else { cron = nil }
        while !Task.isCancelled {
            let next: Date
            switch trigger {
            case .every(let interval):
                let step = max(interval.seconds, 0.001)
                next = Date(timeIntervalSince1970: ((after.timeIntervalSince1970 / step).rounded(.down) + 1) * step)
            default:
                guard let cron, let date = cron.next(after: after) else {
                    logger.warning("A cron schedule never fires", metadata: ["function": "\(host.name)", "schedule": "\(trigger.description)"])
                    return
                }
                next = date
            }
            let wait = next.timeIntervalSinceNow
            if wait > 0 {
                do {
                    try await Task.sleep(for: .seconds(double: wait))
                } catch {
                    return
                }
            }
            let millis = Int64((next.timeIntervalSince1970 * 1000).rounded())
            let input = JSONValue.object(["scheduled_at": .string(RFC3339.string(from: next))]).encoded()
            do {
                _ = try await invokeAsync(host.name, input: input, trigger: TriggerInfo(kind: .schedule, source: trigger.description),
                                          owner: nil, idempotencyKey: "schedule:\(index):\(millis)")
            } catch {
                logger.warning("A schedule could not queue its invocation", metadata: ["function": "\(host.name)", "error": "\(error)"])
            }
            after = next
        }
    }
}
