-- Shared done() printing a JSON line wrk's caller parses: requests/s, latency percentiles (ms), errors.
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status
  io.write(string.format('WRKJSON {"requests": %d, "seconds": %.3f, "rps": %.1f, "bytes": %d, "p50_ms": %.3f, "p99_ms": %.3f, "mean_ms": %.3f, "errors": %d}\n',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000, errors))
end
