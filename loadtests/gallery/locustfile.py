"""Locust users for the Gallery app, in the seed's three phases (ramp-up, steady, ramp-down).

Two kinds of user, like the seed's two Artillery tasks; each runs *sessions* (the seed's virtual users) one after
another, with a pause between them:

- **BrowsingUser**: opens the gallery as its page's script does: lists the newest photos, fetches the thumbnails of
  those in view through their signed URLs (no credentials, six at a time like a browser), sometimes scrolls to the
  next page, then searches by meaning and fetches the results' thumbnails.
- **UploadingUser**: uploads 1–5 photos of the generated set (one request each, or one multipart request with them
  all, like the page's drag-and-drop), then polls each photo until it is `ready`; the time from the upload's answer
  to the poll that shows it ready is recorded as the custom Locust event `UPLOAD upload → ready`.

Every session is also a custom event (`SESSION browse`, `SESSION upload`), its length the session's wall time. All
requests and events are appended to GALLERY_SAMPLES (CSV) with their start time, so run_load.py cuts its tables by
phase. Run through loadtests/gallery/run_load.py (it starts the server, signs users up, seeds their galleries and
passes these settings), or by hand against a running server:

    GALLERY_ACCOUNTS=accounts.json GALLERY_PHOTOS=photos/ locust -f loadtests/gallery/locustfile.py --headless --host http://127.0.0.1:8080

Environment:
    GALLERY_ACCOUNTS    a JSON file: [{"username", "password", "token"?}, …]; users take them round-robin (required)
    GALLERY_PHOTOS      a folder of JPEGs to upload (required for uploading users)
    GALLERY_USERS       the most concurrent users (default 8)
    GALLERY_RAMP_UP     seconds of the ramp-up phase (default 20)
    GALLERY_STEADY      seconds of the steady phase (default 30)
    GALLERY_RAMP_DOWN   seconds of the ramp-down phase (default 10)
    GALLERY_MIX         browsing,uploading weights (default 3,1)
    GALLERY_POLL_MS     interval of the readiness polls (default 50)
    GALLERY_READY_TIMEOUT  seconds before an upload that is not ready counts as failed (default 120)
    GALLERY_SAMPLES     a CSV file to append one line per request and event to
"""
import json
import os
import random
import threading
import time
from pathlib import Path

import gevent.pool
from locust import HttpUser, LoadTestShape, between, events, task

try:
    from photos import unique
except ImportError:  # run from another folder
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from photos import unique

PREFIX = "/v1/apps/gallery"
USERS = int(os.environ.get("GALLERY_USERS", "8"))
RAMP_UP = float(os.environ.get("GALLERY_RAMP_UP", "20"))
STEADY = float(os.environ.get("GALLERY_STEADY", "30"))
RAMP_DOWN = float(os.environ.get("GALLERY_RAMP_DOWN", "10"))
MIX = [float(x) for x in os.environ.get("GALLERY_MIX", "3,1").split(",")]
POLL = float(os.environ.get("GALLERY_POLL_MS", "50")) / 1000
READY_TIMEOUT = float(os.environ.get("GALLERY_READY_TIMEOUT", "120"))
PAGE = 24  # photos in view on the page's first screen
QUERIES = ["a cat", "kitten", "a dog", "puppy", "coffee", "a hot drink", "a car", "mountains", "the sea", "a bird",
           "flowers", "food", "a red ball", "a sunset", "people", "a building", "a boat", "fruit", "a computer", "trees"]

class Samples:
    """One CSV line per request or event: unix start, seconds since the shape started, kind, name, ms, ok, detail.
    Locust runs all users in one process (gevent), so a lock and a line-buffered file suffice."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", buffering=1) if path else None
        self.environment = None

    def offset(self, unix_start: float) -> float:
        shape = getattr(self.environment, "shape_class", None) if self.environment else None
        if shape is None:
            return 0.0
        return shape.get_run_time() - (time.time() - unix_start)

    def add(self, unix_start, kind, name, ms, ok, detail=""):
        if self.file:
            detail = str(detail).replace(",", ";").replace("\n", " ")[:200]
            with self.lock:
                self.file.write(f"{unix_start:.4f},{self.offset(unix_start):.3f},{kind},{name},{ms:.2f},{int(bool(ok))},{detail}\n")


SAMPLES = Samples(os.environ.get("GALLERY_SAMPLES"))


@events.init.add_listener
def _on_init(environment, **_):
    SAMPLES.environment = environment


@events.request.add_listener
def _on_request(request_type, name, response_time, exception=None, response=None, start_time=None, **_):
    start = start_time if start_time else time.time() - (response_time or 0) / 1000
    status = getattr(response, "status_code", "") if response is not None else ""
    SAMPLES.add(start, request_type, name, response_time or 0, exception is None, status if exception is None else f"{status} {exception}")


def _accounts():
    path = os.environ.get("GALLERY_ACCOUNTS")
    if not path:
        raise RuntimeError("GALLERY_ACCOUNTS must name a JSON file of accounts (run_load.py writes one)")
    return json.loads(Path(path).read_text())


_account_lock = threading.Lock()
_account_next = [0]
_photos_cache = {}


def next_account():
    accounts = _accounts() if "accounts" not in _photos_cache else _photos_cache["accounts"]
    _photos_cache["accounts"] = accounts
    with _account_lock:
        account = accounts[_account_next[0] % len(accounts)]
        _account_next[0] += 1
    return account


def photo_bodies():
    """The generated JPEGs, read once."""
    if "bodies" not in _photos_cache:
        folder = Path(os.environ.get("GALLERY_PHOTOS", ""))
        paths = sorted(folder.glob("*.jpg"))
        if not paths:
            raise RuntimeError(f"GALLERY_PHOTOS ({folder}) has no JPEGs; run_load.py generates them")
        _photos_cache["bodies"] = [(p.name, p.read_bytes()) for p in paths]
    return _photos_cache["bodies"]


_upload_counter = [0]


class GalleryUser(HttpUser):
    abstract = True

    def on_start(self):
        self.rng = random.Random()
        account = next_account()
        self.username = account["username"]
        token = account.get("token")
        if not token:
            response = self.client.post("/v1/auth/login", name="POST /v1/auth/login",
                                        json={"username": account["username"], "password": account["password"]})
            response.raise_for_status()
            token = response.json()["token"]
        self.client.headers["Authorization"] = f"Bearer {token}"
        SAMPLES.add(time.time(), "USER", f"start {type(self).__name__}", 0, True)

    def on_stop(self):
        SAMPLES.add(time.time(), "USER", f"stop {type(self).__name__}", 0, True)

    def session(self, kind, body):
        """Runs one session (the seed's virtual user) and records it: SESSION_START now, SESSION <kind> at the end."""
        started = time.time()
        SAMPLES.add(started, "SESSION_START", kind, 0, True)
        error = None
        try:
            error = body()
        except Exception as exception:  # noqa: BLE001 - a session that raises has failed; Locust logs the error
            error = f"{type(exception).__name__}: {exception}"
            raise
        finally:
            elapsed = (time.time() - started) * 1000
            self.environment.events.request.fire(request_type="SESSION", name=kind, response_time=elapsed, response_length=0,
                                                 exception=RuntimeError(error) if error else None, context={}, start_time=started)

    def thumbnails(self, items, size="small"):
        """Fetches the thumbnails of the ready photos in `items` through their signed URLs, without the bearer token (as
        an <img> tag does), six at a time. Returns the number that failed."""
        urls = [item["thumbnails"][size] for item in items if item.get("status") == "ready" and (item.get("thumbnails") or {}).get(size)]
        failed = [0]

        def fetch(url):
            with self.client.get(url, name=f"GET thumbnail {size}", headers={"Authorization": None}, catch_response=True) as response:
                if response.status_code != 200 or not response.content.startswith(b"\xff\xd8"):
                    failed[0] += 1
                    response.failure(f"{response.status_code}: {response.text[:200] if response.status_code != 200 else 'not a JPEG'}")
                else:
                    response.success()

        pool = gevent.pool.Pool(6)
        for url in urls:
            pool.spawn(fetch, url)
        pool.join()
        return failed[0]


def _list(user, name, **params):
    with user.client.get(f"{PREFIX}/photos", params=params, name=name, catch_response=True) as response:
        if response.status_code != 200:
            response.failure(f"{response.status_code}: {response.text[:300]}")
            return None
        try:
            body = response.json()
            assert isinstance(body["items"], list)
        except Exception as error:  # noqa: BLE001
            response.failure(f"malformed list: {error}")
            return None
        response.success()
        return body


class BrowsingUser(GalleryUser):
    """The seed's task 1: open the page, load the photos and their tags; here also a search by meaning."""
    weight = int(MIX[0])
    wait_time = between(1, 3)

    @task
    def browse(self):
        def body():
            problems = []
            page = _list(self, "GET /photos", limit=PAGE)
            if page is None:
                return "the list failed"
            if self.thumbnails(page["items"]):
                problems.append("thumbnails failed")
            if page.get("next_cursor") and self.rng.random() < 0.3:  # scrolled to the bottom: lazy loading
                more = _list(self, "GET /photos (next page)", limit=PAGE, cursor=page["next_cursor"])
                if more is None:
                    problems.append("the next page failed")
                elif self.thumbnails(more["items"]):
                    problems.append("thumbnails failed")
            found = _list(self, "GET /photos?q= (search)", q=self.rng.choice(QUERIES), limit=PAGE)
            if found is None:
                problems.append("the search failed")
            elif self.thumbnails(found["items"][:12]):
                problems.append("thumbnails failed")
            return "; ".join(problems) or None
        self.session("browse", body)


class UploadingUser(GalleryUser):
    """The seed's task 2: upload a random number of photos, each tagged by the trigger; here until each is ready."""
    weight = int(MIX[1]) if len(MIX) > 1 else 1
    wait_time = between(2, 5)

    def upload_bodies(self, count):
        chosen = self.rng.sample(photo_bodies(), min(count, len(photo_bodies())))
        bodies = []
        for name, data in chosen:
            _upload_counter[0] += 1
            bodies.append((name, unique(data, f"{self.username}-{_upload_counter[0]}-{time.time_ns()}")))
        return bodies

    def post_one(self, name, data):
        with self.client.post(f"{PREFIX}/photos", params={"filename": name}, data=data, headers={"Content-Type": "image/jpeg"},
                              name="POST /photos", catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return []
            response.success()
            return [response.json()]

    def post_many(self, bodies):
        files = [("file", (name, data, "image/jpeg")) for name, data in bodies]
        with self.client.post(f"{PREFIX}/photos", files=files, name="POST /photos multipart", catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return []
            response.success()
            return response.json().get("items", [])

    @task
    def upload(self):
        def body():
            bodies = self.upload_bodies(self.rng.randint(1, 5))
            pending = {}  # id → time the upload answered
            if len(bodies) > 1 and self.rng.random() < 0.5:
                photos = self.post_many(bodies)
                answered = time.time()
                pending.update({photo["id"]: answered for photo in photos})
            else:
                photos = []
                for name, data in bodies:
                    got = self.post_one(name, data)
                    photos += got
                    pending.update({photo["id"]: time.time() for photo in got})
            failures = len(bodies) - len(photos)
            # Photos already ready in the upload's answer (possible once processing is fast) count as 0 ms.
            for photo in photos:
                if photo.get("status") == "ready":
                    self.ready(photo["id"], pending.pop(photo["id"]), time.time())
            while pending:
                for photo_id, answered in list(pending.items()):
                    with self.client.get(f"{PREFIX}/photos/{photo_id}", name="GET /photos/{id} (poll)", catch_response=True) as response:
                        seen = time.time()
                        if response.status_code != 200:
                            response.failure(f"{response.status_code}: {response.text[:300]}")
                            self.ready(photo_id, answered, seen, f"poll answered {response.status_code}")
                            pending.pop(photo_id)
                            failures += 1
                            continue
                        response.success()
                        status = response.json().get("status")
                    if status == "ready":
                        self.ready(photo_id, answered, seen)
                        pending.pop(photo_id)
                    elif status != "processing":
                        self.ready(photo_id, answered, seen, f"status {status}: {response.json().get('error', '')}")
                        pending.pop(photo_id)
                        failures += 1
                    elif seen - answered > READY_TIMEOUT:
                        self.ready(photo_id, answered, seen, f"not ready after {READY_TIMEOUT:.0f} s")
                        pending.pop(photo_id)
                        failures += 1
                if pending:
                    gevent.sleep(POLL)
            return f"{failures} of {len(bodies)} photos failed" if failures else None
        self.session("upload", body)

    def ready(self, photo_id, answered, seen, error=None):
        self.environment.events.request.fire(request_type="UPLOAD", name="upload → ready", response_time=(seen - answered) * 1000,
                                             response_length=0, exception=RuntimeError(error) if error else None,
                                             context={"photo": photo_id}, start_time=answered)


class ThreePhases(LoadTestShape):
    """The seed's phases: ramp-up from 0 to GALLERY_USERS, steady, ramp-down to 0; then the run stops."""

    def tick(self):
        elapsed = self.get_run_time()
        if elapsed < RAMP_UP:
            # The target grows linearly, so users start one by one across the whole phase.
            return max(1, min(USERS, int(USERS * elapsed / RAMP_UP) + 1)), max(1.0, USERS / max(RAMP_UP, 1))
        if elapsed < RAMP_UP + STEADY:
            return USERS, max(1.0, USERS / max(RAMP_UP, 1))
        if elapsed < RAMP_UP + STEADY + RAMP_DOWN:
            left = USERS * (1 - (elapsed - RAMP_UP - STEADY) / RAMP_DOWN)
            return max(0, int(round(left))), max(1.0, USERS / max(RAMP_DOWN, 1))
        return None
