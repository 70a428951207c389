import Testing

/// Polls `condition` until it holds, recording a test issue and throwing if it does not within `limit`.
/// For asynchronous effects (a trigger firing, a record being written) that have no completion to await.
public func eventually(_ what: String = "condition", limit: Duration = .seconds(30), poll: Duration = .milliseconds(5),
                       _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: poll)
    }
    Issue.record("Timed out after \(limit) waiting for \(what)")
    throw CancellationError()
}

/// Runs a service loop (`run`) in the background while `body` runs, then cancels it and waits for it to end.
public func whileRunning<T>(_ run: @escaping @Sendable () async throws -> Void, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await run() }
    do {
        let result = try await body()
        task.cancel()
        try await task.value
        return result
    } catch {
        task.cancel()
        _ = try? await task.value
        throw error
    }
}
