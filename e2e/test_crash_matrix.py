"""The crash matrix: for each durable step, kill a real `aerie serve` with SIGKILL right after the step is durable
and before anyone hears of it, restart it on the same data directory, and check what survived: no acknowledged
write lost, no half-written object visible, every triggered function finished exactly once in effect.

The kill comes from the server itself: debug builds (what `make test` runs) take `AERIE_CRASH_AT=point[:detail]`
and SIGKILL themselves on reaching that point (`CrashPoint` in AerieCore; release builds have no such hook). The
server's log line naming the point shows that the kill happened there and not elsewhere.
"""
import hashlib
import json
import os
import subprocess
import time

import pytest
import requests

from conftest import REPO, Server, data_with_models, wait_for

FUNCTION = "wordcount"
STARTED = []


@pytest.fixture(autouse=True)
def stop_every_server():
    """Whatever a test leaves running (a failed assertion before its stop) is stopped after it."""
    yield
    while STARTED:
        STARTED.pop().stop()


def start(data_dir, env=None, apps="quickstart"):
    server = Server(data_dir, extra_env=env, extra_args=["--apps", apps, "--rate-limit", "0"])
    STARTED.append(server)
    return server.start()


def crashing(data_dir, point, apps="quickstart"):
    return start(data_dir, {"AERIE_CRASH_AT": point}, apps)


def plain(data_dir, apps="quickstart"):
    return start(data_dir, apps=apps)


def auth(server):
    return {"Authorization": f"Bearer {server.login()}"}


def expect_killed_at(server, point, request=None):
    """Runs `request`, which the kill must interrupt (no answer), or nothing when a background step reaches the
    point; then waits for the process to die of SIGKILL at `point`."""
    if request is not None:
        with pytest.raises(requests.exceptions.ConnectionError):
            request()
    try:
        code = server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the server did not reach crash point {point}")
    server.log.close()
    assert code == -9, f"the server exited with {code}, not SIGKILL"
    log = server.log_path.read_text(errors="replace")
    assert f"crash point {point.split(':')[0]} reached" in log, f"no crash at {point}; log tail:\n{log[-2000:]}"


def answered_unless_killed(request):
    """The answer to a request that starts background work, or None when the kill came first: the work can reach its
    crash point before the answer is written (seen under load). The request took effect either way (the point is
    reached only after it), so the test finds what it made by listing after the restart."""
    try:
        return request()
    except requests.exceptions.ConnectionError:
        return None


def only_item(server, headers, path, **params):
    items = requests.get(f"{server.url}{path}", params=params, headers=headers, timeout=10).json()["items"]
    assert len(items) == 1, items
    return items[0]


def object_files(data_dir, bucket):
    folder = data_dir / "objects" / bucket
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("point, survives", [("object.put.file-placed", False), ("object.put.committed", True)])
def test_object_put(workdir, point, survives):
    """Killed after the new version's file is in place but before it is committed, the old version stays and the
    orphan file is removed at the next start; killed after the commit, the new version is whole. Either way one
    file per object, and the bytes served are exactly one version's."""
    data_dir = workdir / f"put-{point}"
    old, new = os.urandom(300_000), os.urandom(700_000)
    server = plain(data_dir)
    headers = auth(server)
    assert requests.put(f"{server.url}/v1/buckets/crash", headers=headers, timeout=10).status_code in (200, 201)
    assert requests.put(f"{server.url}/v1/buckets/crash/objects/photo.bin", data=old, headers=headers, timeout=30).status_code == 201
    server.stop()

    server = crashing(data_dir, f"{point}:crash")
    headers = auth(server)
    expect_killed_at(server, point, lambda: requests.put(f"{server.url}/v1/buckets/crash/objects/photo.bin", data=new,
                                                         headers=headers, timeout=30))

    restarted = plain(data_dir)
    got = requests.get(f"{restarted.url}/v1/buckets/crash/objects/photo.bin", headers=auth(restarted), timeout=30)
    assert got.status_code == 200
    assert hashlib.md5(got.content).digest() == hashlib.md5(new if survives else old).digest()
    assert got.headers["ETag"] == f'"{hashlib.md5(new if survives else old).hexdigest()}"'
    assert len(object_files(data_dir, "crash")) == 1, object_files(data_dir, "crash")


def word_count_results(server, headers, source):
    rows = requests.post(f"{server.url}/v1/tables/quickstart_wordcounts/query",
                         json={"index": "by_folder", "partition": "incoming/crash", "limit": 1000}, headers=headers, timeout=30)
    assert rows.status_code == 200, rows.text
    return [row for row in rows.json()["items"] if row["item"]["source"] == source]


def invocations_of(server, headers):
    listed = requests.get(f"{server.url}/v1/invocations", params={"function": FUNCTION, "limit": 1000}, headers=headers, timeout=30)
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


@pytest.mark.parametrize("point", ["trigger.queued", "invocation.started", "invocation.finished"])
def test_triggered_function(workdir, point):
    """An upload's trigger killed after queueing the invocation (before committing its offset), after the worker
    marked it running (before the function ran), or after its result was recorded (before the message was acked):
    after the restart the function's effect is there exactly once, and one invocation succeeded for the upload."""
    data_dir = workdir / f"trigger-{point}"
    server = crashing(data_dir, f"{point}:{FUNCTION}")
    headers = auth(server)
    source = "incoming/crash/doc.txt"
    text = "crash " * 5 + "matrix " * 3
    put = answered_unless_killed(lambda: requests.put(f"{server.url}/v1/buckets/quickstart/objects/{source}", data=text.encode(),
                                                      headers=headers, timeout=30))
    assert put is None or put.status_code == 201, put.text
    # The upload is acknowledged; the kill comes from the trigger's background work.
    expect_killed_at(server, point)

    restarted = plain(data_dir)
    headers = auth(restarted)
    # A delivery that was running comes back after the function queue's visibility timeout (10 s).
    wait_for(lambda: word_count_results(restarted, headers, source), timeout=60, what="the word count after the restart")
    result = requests.get(f"{restarted.url}/v1/buckets/quickstart/objects/results/crash/doc.json", headers=headers, timeout=30)
    assert result.status_code == 200
    assert json.loads(result.content)["counts"] == {"crash": 5, "matrix": 3}
    time.sleep(1.5)  # room for a duplicate to show, were there one
    assert len(word_count_results(restarted, headers, source)) == 1
    mine = [item for item in invocations_of(restarted, headers) if (item.get("trigger") or {}).get("source") == f"quickstart/{source}"]
    assert [item["status"] for item in mine] == ["succeeded"], mine


def queue_with_a_message(server, headers, job):
    """Queue `jobs` (visibility timeout 1 s) holding one message `{"job": job}`."""
    created = requests.post(f"{server.url}/v1/queues", json={"name": "jobs", "visibility_timeout": 1}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    sent = requests.post(f"{server.url}/v1/queues/jobs/messages", json={"messages": [{"body": {"job": job}}]}, headers=headers, timeout=10)
    assert sent.status_code == 201, sent.text


def test_queue_receive_then_crash_redelivers(workdir):
    """Killed after a receive is durable but before the client heard of it: the message is not lost; it comes back
    once its visibility timeout passes, with the attempt counted."""
    data_dir = workdir / "queue-receive"
    server = crashing(data_dir, "queue.received:jobs")
    headers = auth(server)
    queue_with_a_message(server, headers, 7)
    expect_killed_at(server, "queue.received:jobs",
                     lambda: requests.post(f"{server.url}/v1/queues/jobs/receive", json={}, headers=headers, timeout=10))

    restarted = plain(data_dir)
    headers = auth(restarted)

    def receive():
        items = requests.post(f"{restarted.url}/v1/queues/jobs/receive", json={}, headers=headers, timeout=10).json()["items"]
        return items or None

    items = wait_for(receive, timeout=20, what="the message to come back")
    assert [item["body"] for item in items] == [{"job": 7}]
    assert items[0]["attempts"] == 2


def test_queue_ack_then_crash_stays_acked(workdir):
    """Killed after an ack is durable but before the client heard of it: the message does not come back."""
    data_dir = workdir / "queue-ack"
    server = crashing(data_dir, "queue.acked:jobs")
    headers = auth(server)
    queue_with_a_message(server, headers, 8)
    message = requests.post(f"{server.url}/v1/queues/jobs/receive", json={}, headers=headers, timeout=10).json()["items"][0]
    expect_killed_at(server, "queue.acked:jobs",
                     lambda: requests.post(f"{server.url}/v1/queues/jobs/ack", json={"receipt": message["receipt"]}, headers=headers, timeout=10))

    restarted = plain(data_dir)
    headers = auth(restarted)
    time.sleep(1.5)  # past the visibility timeout, were the message still there
    items = requests.post(f"{restarted.url}/v1/queues/jobs/receive", json={}, headers=headers, timeout=10).json()["items"]
    assert items == []


def test_conditional_table_write_then_crash_happened_once(workdir):
    """Killed after a create-only write (If-None-Match: *) is committed but before the answer: the item is there,
    and the client's retry is refused with 412, so the write took effect exactly once."""
    data_dir = workdir / "table"
    server = crashing(data_dir, "table.written:orders")
    headers = auth(server)
    created = requests.post(f"{server.url}/v1/tables", json={"name": "orders", "partition_key": "id"}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    order = {"id": "o-1", "amount": 42}
    write = lambda: requests.put(f"{server.url}/v1/tables/orders/items", json=order,
                                 headers={**headers, "If-None-Match": "*"}, timeout=10)
    expect_killed_at(server, "table.written:orders", write)

    restarted = plain(data_dir)
    headers = auth(restarted)
    got = requests.get(f"{restarted.url}/v1/tables/orders/items/o-1", headers=headers, timeout=10)
    assert got.status_code == 200 and got.json()["item"] == order
    retry = requests.put(f"{restarted.url}/v1/tables/orders/items", json=order,
                         headers={**headers, "If-None-Match": "*"}, timeout=10)
    assert retry.status_code == 412, retry.text


def test_event_append_then_crash_is_kept_once(workdir):
    """Killed after an append is committed but before the answer: the events are there, in order, once."""
    data_dir = workdir / "events"
    server = crashing(data_dir, "events.appended:audit")
    headers = auth(server)
    events = {"events": [{"key": "a", "payload": {"n": 1}}, {"key": "b", "payload": {"n": 2}}]}
    expect_killed_at(server, "events.appended:audit",
                     lambda: requests.post(f"{server.url}/v1/topics/audit/events", json=events, headers=headers, timeout=10))

    restarted = plain(data_dir)
    got = requests.get(f"{restarted.url}/v1/topics/audit/events", params={"from": 0}, headers=auth(restarted), timeout=10)
    assert got.status_code == 200, got.text
    assert [(item["key"], item["payload"]) for item in got.json()["items"]] == [("a", {"n": 1}), ("b", {"n": 2})]


@pytest.mark.parametrize("point", ["invocation.finished:pipeline-preprocess", "invocation.started:pipeline-train"])
def test_pipeline_stage_transition(workdir, point):
    """An app's stage transitions are invocations chained through objects: Pipeline killed after preprocessing
    recorded its result (before its message was acked), or after training was marked running (before it ran),
    still brings the dataset to `ready` after the restart, with one model and each stage succeeded exactly once."""
    data_dir = workdir / f"pipeline-{point.replace(':', '-')}"
    server = crashing(data_dir, point, apps="pipeline")
    headers = auth(server)
    with open(REPO / "Tests" / "PipelineTests" / "Fixtures" / "iris.csv", "rb") as csv:
        upload = answered_unless_killed(lambda: requests.post(
            f"{server.url}/v1/apps/pipeline/datasets", headers=headers, timeout=30,
            files={"file": ("iris.csv", csv, "text/csv")}, data={"name": "iris", "model": "logistic-regression"}))
    assert upload is None or upload.status_code == 202, upload.text
    expect_killed_at(server, point)

    restarted = plain(data_dir, apps="pipeline")
    headers = auth(restarted)

    def settled():
        record = requests.get(f"{restarted.url}/v1/apps/pipeline/datasets/iris", headers=headers, timeout=10).json()
        return record if record.get("stage") in ("ready", "failed") else None

    record = wait_for(settled, timeout=90, what="the dataset to settle after the restart")
    assert record["stage"] == "ready", record
    models = [item for item in requests.get(f"{restarted.url}/v1/apps/pipeline/models", headers=headers, timeout=10).json()["items"]
              if item["name"] == "iris"]
    assert len(models) == 1, models
    for function in ("pipeline-preprocess", "pipeline-train"):
        listed = requests.get(f"{restarted.url}/v1/invocations", params={"function": function, "limit": 100},
                              headers=headers, timeout=10).json()["items"]
        assert [item["status"] for item in listed] == ["succeeded"], (function, listed)


@pytest.mark.parametrize("point", ["invocation.started:gallery-process", "invocation.finished:gallery-process"])
def test_gallery_stage_transition(workdir, point):
    """Gallery's upload → tagged transition with the real classifier: killed after processing was marked running
    (before it ran), or after its result was recorded (before its message was acked), the photo still ends `ready`
    with its tags after the restart, and processing succeeded once."""
    from test_gallery import jpeg

    data_dir = data_with_models(workdir / f"gallery-{point.split('.')[1]}" / "data", names=("minilm", "onnxruntime", "classifier"))
    server = crashing(data_dir, point, apps="gallery")
    headers = auth(server)
    uploaded = answered_unless_killed(lambda: requests.post(
        f"{server.url}/v1/apps/gallery/photos", params={"filename": "chelsea.jpg"}, data=jpeg("chelsea"),
        headers={**headers, "Content-Type": "image/jpeg"}, timeout=60))
    assert uploaded is None or uploaded.status_code == 201, uploaded.text
    expect_killed_at(server, point)

    restarted = plain(data_dir, apps="gallery")
    headers = auth(restarted)
    photo = uploaded.json()["id"] if uploaded else only_item(restarted, headers, "/v1/apps/gallery/photos")["id"]

    def processed():
        body = requests.get(f"{restarted.url}/v1/apps/gallery/photos/{photo}", headers=headers, timeout=10).json()
        return body if body.get("status") != "processing" else None

    body = wait_for(processed, timeout=90, what="the photo to be processed after the restart")
    assert body["status"] == "ready" and body["tags"], body
    listed = requests.get(f"{restarted.url}/v1/invocations", params={"function": "gallery-process", "limit": 100},
                          headers=headers, timeout=10).json()["items"]
    assert [item["status"] for item in listed] == ["succeeded"], listed


@pytest.mark.parametrize("point", ["invocation.started:lab-train", "invocation.finished:lab-train"])
def test_lab_stage_transition(workdir, point):
    """Lab's queued → trained transition: killed after training was marked running (before it ran), or after its
    result was recorded (before its message was acked), the experiment still ends `trained` after the restart, and
    training succeeded once."""
    data_dir = workdir / f"lab-{point.split('.')[1]}"
    server = crashing(data_dir, point, apps="lab")
    headers = auth(server)
    created = answered_unless_killed(lambda: requests.post(f"{server.url}/v1/apps/lab/experiments", json={"dataset": "iris", "model": "svm"},
                                                           headers=headers, timeout=10))
    assert created is None or created.status_code == 202, created.text
    expect_killed_at(server, point)

    restarted = plain(data_dir, apps="lab")
    headers = auth(restarted)
    experiment = created.json()["id"] if created else only_item(restarted, headers, "/v1/apps/lab/experiments")["id"]

    def settled():
        body = requests.get(f"{restarted.url}/v1/apps/lab/experiments/{experiment}", headers=headers, timeout=10).json()
        return body if body.get("status") in ("trained", "failed") else None

    body = wait_for(settled, timeout=90, what="the experiment to settle after the restart")
    assert body["status"] == "trained", body
    listed = requests.get(f"{restarted.url}/v1/invocations", params={"function": "lab-train", "limit": 100},
                          headers=headers, timeout=10).json()["items"]
    assert [item["status"] for item in listed] == ["succeeded"], listed


@pytest.mark.parametrize("point", ["invocation.started:faces-notify", "invocation.finished:faces-notify"])
def test_faces_stage_transition(workdir, point):
    """Faces' recognized → notified transition with dlib's real models: killed after the notification was marked
    running (before the webhook was called), or after its result was recorded (the webhook called, the message not
    yet acked), the webhook is called exactly once in all, after the restart or before the kill, and the queue ends
    empty with notification succeeded once."""
    from test_faces import PHOTOS, Webhooks

    data_dir = data_with_models(workdir / f"faces-{point.split('.')[1]}" / "data", names=("faces",))
    hooks = Webhooks(failures=0)
    try:
        server = crashing(data_dir, point, apps="faces")
        headers = auth(server)
        base = f"{server.url}/v1/apps/faces"
        person = requests.post(f"{base}/people", json={"name": "Barack Obama"}, headers=headers, timeout=10).json()
        enrolled = requests.post(f"{base}/people/{person['id']}/faces", data=(PHOTOS / "obama.jpg").read_bytes(),
                                 headers={**headers, "Content-Type": "image/jpeg"}, timeout=60)
        assert enrolled.status_code == 201, enrolled.text
        watch = requests.post(f"{base}/watches", json={"person_id": person["id"], "webhook_url": hooks.url}, headers=headers, timeout=10)
        assert watch.status_code == 201, watch.text
        seen = answered_unless_killed(lambda: requests.post(f"{base}/recognize", data=(PHOTOS / "obama2.jpg").read_bytes(),
                                                            headers={**headers, "Content-Type": "image/jpeg"}, timeout=60))
        assert seen is None or [face["person"]["name"] for face in seen.json()["faces"]] == ["Barack Obama"], seen.text
        expect_killed_at(server, point)
        assert len(hooks.calls) == (1 if point.startswith("invocation.finished") else 0)

        restarted = plain(data_dir, apps="faces")
        headers = auth(restarted)

        def settled():
            stats = requests.get(f"{restarted.url}/v1/queues/faces-notify", headers=headers, timeout=10).json()["stats"]
            return stats if stats["visible"] == stats["in_flight"] == stats["delayed"] == 0 else None

        stats = wait_for(settled, timeout=90, what="the notification queue to empty after the restart")
        assert stats["dead_letters"] == 0, stats
        assert len(hooks.calls) == 1, [json.loads(body) for _, body in hooks.calls]
        event = json.loads(hooks.calls[0][1])
        assert event["event"] == "faces.recognized" and event["person"]["name"] == "Barack Obama"
        assert seen is None or event["photo"] == seen.json()["photo"]
        listed = requests.get(f"{restarted.url}/v1/invocations", params={"function": "faces-notify", "limit": 100},
                              headers=headers, timeout=10).json()["items"]
        assert [item["status"] for item in listed] == ["succeeded"], listed
    finally:
        hooks.stop()


@pytest.mark.parametrize("point", ["invocation.started:imagine-generate", "invocation.finished:imagine-generate"])
def test_imagine_stage_transition(workdir, point):
    """Imagine's requested → generated transition (`Prefer: respond-async`) with the tiny diffusion model: killed after
    generation was marked running (before it ran), or after its result was recorded (before its message was acked),
    the invocation still ends succeeded after the restart, with one image record whose picture is served, and
    generation succeeded once."""
    from imagine_support import _imagine_data

    data_dir = _imagine_data(workdir, f"imagine-{point.split('.')[1]}")
    server = crashing(data_dir, point, apps="imagine")
    headers = auth(server)
    started = answered_unless_killed(lambda: requests.post(
        f"{server.url}/v1/apps/imagine/images", json={"prompt": "a red bicycle leaning on a wall", "steps": 2},
        headers={**headers, "Prefer": "respond-async"}, timeout=60))
    assert started is None or started.status_code == 202, started.text
    expect_killed_at(server, point)

    restarted = plain(data_dir, apps="imagine")
    headers = auth(restarted)
    invocation = started.json()["id"] if started else only_item(restarted, headers, "/v1/invocations", function="imagine-generate")["id"]

    def settled():
        record = requests.get(f"{restarted.url}/v1/invocations/{invocation}", headers=headers, timeout=10).json()
        return record if record["status"] in ("succeeded", "failed", "cancelled") else None

    record = wait_for(settled, timeout=120, what="the generation to settle after the restart")
    assert record["status"] == "succeeded", record
    images = requests.get(f"{restarted.url}/v1/apps/imagine/images", headers=headers, timeout=10).json()["items"]
    assert [image["prompt"] for image in images] == ["a red bicycle leaning on a wall"], images
    picture = requests.get(f"{restarted.url}/v1/apps/imagine/images/{images[0]['id']}.png", headers=headers, timeout=10)
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG"), picture.status_code
    listed = requests.get(f"{restarted.url}/v1/invocations", params={"function": "imagine-generate", "limit": 100},
                          headers=headers, timeout=10).json()["items"]
    assert [item["status"] for item in listed] == ["succeeded"], listed
