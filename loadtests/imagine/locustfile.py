"""Locust scenarios for the Imagine app: baseline, constant, ramp-up, peak and cache-effectiveness.

Run through loadtests/imagine/run_load.py (it starts `aerie serve`, signs in and passes the settings below), or
by hand against a running server:

    IMAGINE_SCENARIO=constant IMAGINE_TOKEN=$(…) locust -f loadtests/imagine/locustfile.py --headless --host http://127.0.0.1:8080

Environment:
    IMAGINE_SCENARIO   baseline | constant | ramp-up | peak | cache-effectiveness | ci  (default constant)
    IMAGINE_TOKEN      a bearer token (or IMAGINE_USERNAME / IMAGINE_PASSWORD to sign in, default admin)
    IMAGINE_DURATION   seconds the scenario runs (default 60)
    IMAGINE_USERS      the most concurrent users (default 6)
    IMAGINE_STEPS      denoising steps per image (default 4)
    IMAGINE_SIZE       width and height (default: the model's)
    IMAGINE_MIX        repeat,paraphrase,new weights (default per scenario)
    IMAGINE_SAMPLES    a CSV file to append one line per request to (time, kind, cache, status, ms), for exact
                       hit and miss percentiles in the report

Every POST is named after its prompt's kind (seed, repeat, paraphrase, new) and its answer's X-Cache header,
e.g. "POST images [paraphrase] hit", so the CSVs split the latency of cache hits from that of generations and the
stats history gives the hit ratio over time. 429 with Retry-After is the server's back-pressure: it is named
"POST images 429 back-pressure", counts as a success, and the user waits as told; any other status is a failure.
"""
import os
import random
import threading
import time

from locust import HttpUser, LoadTestShape, between, task

from prompts import FAMILIES, new_prompt

SCENARIO = os.environ.get("IMAGINE_SCENARIO", "constant")
DURATION = float(os.environ.get("IMAGINE_DURATION", "60"))
USERS = int(os.environ.get("IMAGINE_USERS", "6"))
STEPS = int(os.environ.get("IMAGINE_STEPS", "4"))
SIZE = os.environ.get("IMAGINE_SIZE")
PATH = "/v1/apps/imagine/images"

DEFAULT_MIX = {
    "baseline": (0, 0, 1),            # one user, new prompts only: the cost of a generation without contention
    "constant": (4, 3, 3),
    "ramp-up": (4, 3, 3),
    "peak": (4, 3, 3),
    "cache-effectiveness": (5, 3, 2),  # repeated, paraphrased and new prompts
    "ci": (4, 3, 3),
}


def mix():
    text = os.environ.get("IMAGINE_MIX")
    if text:
        return tuple(float(part) for part in text.split(","))
    return DEFAULT_MIX.get(SCENARIO, DEFAULT_MIX["constant"])


class Samples:
    """One CSV line per request when IMAGINE_SAMPLES names a file (Locust runs users in one process)."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", buffering=1) if path else None

    def add(self, kind, cache, status, milliseconds):
        if self.file:
            with self.lock:
                self.file.write(f"{time.time():.3f},{kind},{cache},{status},{milliseconds:.1f}\n")


SAMPLES = Samples(os.environ.get("IMAGINE_SAMPLES"))

# Families whose base prompt some user has generated: repeats and paraphrases pick among them, so they can hit.
_seen_lock = threading.Lock()
_seen = []


def _mark_seen(index):
    with _seen_lock:
        if index not in _seen:
            _seen.append(index)


def _pick_seen(rng):
    with _seen_lock:
        return rng.choice(_seen) if _seen else None


class ImagineUser(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.rng = random.Random()
        token = os.environ.get("IMAGINE_TOKEN")
        if not token:
            response = self.client.post("/v1/auth/login", name="login", json={
                "username": os.environ.get("IMAGINE_USERNAME", "admin"),
                "password": os.environ.get("IMAGINE_PASSWORD", ""),
            })
            response.raise_for_status()
            token = response.json()["token"]
        self.client.headers["Authorization"] = f"Bearer {token}"

    def choose(self):
        """(kind, prompt, family index or None)."""
        kind = self.rng.choices(["repeat", "paraphrase", "new"], weights=mix())[0]
        seen = _pick_seen(self.rng)
        if kind in ("repeat", "paraphrase") and seen is None:
            kind = "seed"  # nothing generated yet: generate a base prompt so later repeats can hit
        if kind == "seed":
            index = self.rng.randrange(len(FAMILIES))
            return "seed", FAMILIES[index][0], index
        if kind == "repeat":
            return "repeat", FAMILIES[seen][0], seen
        if kind == "paraphrase":
            return "paraphrase", FAMILIES[seen][1], seen
        # A new prompt; sometimes a base prompt no one asked for yet, which later repeats and paraphrases reuse.
        unseen = [i for i in range(len(FAMILIES)) if i not in _seen]
        if unseen and self.rng.random() < 0.5:
            index = self.rng.choice(unseen)
            return "new", FAMILIES[index][0], index
        return "new", new_prompt(self.rng), None

    @task
    def generate(self):
        kind, prompt, family = self.choose()
        body = {"prompt": prompt, "steps": STEPS}
        if SIZE:
            body["width"] = body["height"] = int(SIZE)
        started = time.perf_counter()
        with self.client.post(PATH, json=body, name=f"POST images [{kind}]", catch_response=True) as response:
            elapsed = (time.perf_counter() - started) * 1000
            SAMPLES.add(kind, response.headers.get("X-Cache", ""), response.status_code, elapsed)
            if response.status_code == 429 and response.headers.get("Retry-After"):
                response.request_meta["name"] = "POST images 429 back-pressure"
                response.success()
                retry = float(response.headers["Retry-After"])
                time.sleep(min(retry, 5.0))
                return
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return
            cache = response.headers.get("X-Cache", "")
            if cache not in ("hit", "miss"):
                response.failure(f"X-Cache is {cache!r}, not hit or miss")
                return
            try:
                image = response.json()
                assert image["image_url"] and image["id"]
            except Exception as error:  # noqa: BLE001 - any malformed body fails the request
                response.failure(f"malformed body: {error}")
                return
            response.request_meta["name"] = f"POST images [{kind}] {cache}"
            response.success()
            if family is not None:
                _mark_seen(family)


class ScenarioShape(LoadTestShape):
    """The user count over time for IMAGINE_SCENARIO; the run stops after IMAGINE_DURATION seconds."""

    def stages(self):
        d, n = DURATION, USERS
        if SCENARIO == "baseline":
            return [(d, 1, 1)]
        if SCENARIO in ("constant", "cache-effectiveness", "ci"):
            return [(d, n, n)]
        if SCENARIO == "ramp-up":
            steps = max(1, n)
            return [(d * (i + 1) / steps, i + 1, 1) for i in range(steps)]
        if SCENARIO == "peak":
            low = max(1, n // 4)
            return [(d * 0.3, low, low), (d * 0.6, n * 2, n * 2), (d, low, n * 2)]
        raise ValueError(f"unknown IMAGINE_SCENARIO {SCENARIO!r}: use baseline, constant, ramp-up, peak, cache-effectiveness or ci")

    def tick(self):
        elapsed = self.get_run_time()
        for end, users, rate in self.stages():
            if elapsed < end:
                return users, rate
        return None
