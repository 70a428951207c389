"""The soak's mix across the apps (run by loadtests/soak/run_soak.py, which prepares the server and passes these):

    SOAK_TOKEN      the admin's bearer token (the uploads, invocations, Imagine and Pipeline calls use it)
    SOAK_PASSWORD   the admin's password (each user signs in to the console through its form, with CSRF)
    SOAK_PROMPTS    prompts already generated once, '|'-separated: asking again is a cache hit
    SOAK_MODEL      the Pipeline model to predict with

Per user, by weight: an upload to the Quickstart bucket that triggers `wordcount` (3), a sync invoke of
`wordcount` (3), an async invocation followed by a read of its record (2), an Imagine request that the cache
answers (3) and one with a new prompt that generates (1), a Pipeline prediction (3), and a console page read (2).
A 429 with Retry-After is the server's documented back-pressure: it counts as a success, named "… 429", and the user
waits as told. Every other status that is not the operation's success is a failure.
"""
import os
import random
import re
import time
import uuid

from locust import HttpUser, between, task

TOKEN = os.environ.get("SOAK_TOKEN", "")
PASSWORD = os.environ.get("SOAK_PASSWORD", "")
PROMPTS = [p for p in os.environ.get("SOAK_PROMPTS", "").split("|") if p]
MODEL = os.environ.get("SOAK_MODEL", "iris")
WORDS = ("cloud", "river", "stone", "light", "queue", "table", "object", "event", "trigger", "model")
# New prompts put together from these, so each names a different scene (a cache miss, unless it happens to repeat).
SUBJECTS = ("a fox", "an old tram", "a paper kite", "a glass teapot", "a lighthouse keeper", "a violin", "a cactus",
            "a steam engine", "a snow leopard", "a hot air balloon", "a chess board", "a lantern")
PLACES = ("in a desert at noon", "on a rainy street", "under northern lights", "in a greenhouse", "on a frozen lake",
          "in a library", "at a harbour at dawn", "in a bamboo forest", "on a rooftop at night", "in a market")
STYLES = ("watercolour", "pencil sketch", "oil painting", "photograph", "woodcut", "pixel art")


class SoakUser(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.rng = random.Random()
        self.auth = {"Authorization": f"Bearer {TOKEN}"}
        # The console reads go through a page session, signed in by the form like a person would.
        form = self.client.get("/console/login", name="console sign-in page")
        match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        self.console = False
        if match:
            signed_in = self.client.post("/console/login", name="console sign-in", allow_redirects=False,
                                         data={"username": "admin", "password": PASSWORD, "csrf_token": match.group(1)})
            self.console = signed_in.status_code == 303

    def text(self):
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(20, 200)))

    def expect(self, response, statuses, name):
        """Marks the response: its success statuses pass; a 429 with Retry-After passes as back-pressure."""
        if response.status_code in statuses:
            response.success()
            return True
        if response.status_code == 429 and response.headers.get("Retry-After"):
            response.request_meta["name"] = f"{name} 429"
            response.success()
            time.sleep(min(float(response.headers["Retry-After"]), 5.0))
            return False
        response.failure(f"{response.status_code}: {response.text[:200]}")
        return False

    @task(3)
    def upload_with_trigger(self):
        key = f"incoming/soak/{uuid.uuid4().hex}.txt"
        name = "PUT quickstart object (trigger)"
        with self.client.put(f"/v1/buckets/quickstart/objects/{key}", data=self.text().encode(), name=name,
                             headers={**self.auth, "Content-Type": "text/plain"}, catch_response=True) as response:
            self.expect(response, (201,), name)

    @task(3)
    def invoke_sync(self):
        name = "POST wordcount invoke (sync)"
        with self.client.post("/v1/functions/wordcount/invoke", json={"text": self.text()}, headers=self.auth,
                              name=name, catch_response=True) as response:
            self.expect(response, (200,), name)

    @task(2)
    def invoke_async(self):
        name = "POST wordcount invocations (async)"
        with self.client.post("/v1/functions/wordcount/invocations", json={"text": self.text()}, headers=self.auth,
                              name=name, catch_response=True) as response:
            if not self.expect(response, (202,), name):
                return
            invocation = response.json()["id"]
        name = "GET invocation"
        with self.client.get(f"/v1/invocations/{invocation}", headers=self.auth, name=name, catch_response=True) as response:
            self.expect(response, (200,), name)

    @task(3)
    def imagine_hit(self):
        if not PROMPTS:
            return
        name = "POST imagine (cached prompt)"
        with self.client.post("/v1/apps/imagine/images", json={"prompt": self.rng.choice(PROMPTS), "steps": 2}, headers=self.auth,
                              name=name, catch_response=True) as response:
            if self.expect(response, (200,), name):
                response.request_meta["name"] = f"{name} {response.headers.get('X-Cache', '?')}"

    @task(1)
    def imagine_miss(self):
        name = "POST imagine (new prompt)"
        prompt = f"{self.rng.choice(SUBJECTS)} {self.rng.choice(PLACES)}, {self.rng.choice(STYLES)}"
        with self.client.post("/v1/apps/imagine/images", json={"prompt": prompt, "steps": 2}, headers=self.auth,
                              name=name, catch_response=True) as response:
            if self.expect(response, (200,), name):
                response.request_meta["name"] = f"{name} {response.headers.get('X-Cache', '?')}"

    @task(3)
    def pipeline_predict(self):
        row = {"sepal_length": self.rng.uniform(4.3, 7.9), "sepal_width": self.rng.uniform(2.0, 4.4),
               "petal_length": self.rng.uniform(1.0, 6.9), "petal_width": self.rng.uniform(0.1, 2.5)}
        name = "POST pipeline predict"
        with self.client.post(f"/v1/apps/pipeline/models/{MODEL}/predict", json={"rows": [row]}, headers=self.auth,
                              name=name, catch_response=True) as response:
            self.expect(response, (200,), name)

    @task(2)
    def console_read(self):
        if not self.console:
            return
        path = self.rng.choice(["/console", "/console/invocations", "/console/functions"])
        name = f"GET {path}"
        with self.client.get(path, name=name, catch_response=True) as response:
            self.expect(response, (200,), name)
