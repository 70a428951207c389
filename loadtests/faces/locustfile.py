"""Locust users for the Faces app: the seed's scenarios (log in, upload a photo, recognize the people in it).

Each user takes an account round-robin (FACES_ACCOUNTS, written by run_load.py: every account has one enrolled person
with an email watch, so a recognized face also sends an email through the queue, as the seed's /sendemail did) and
repeats, with a pause of 0.5–1.5 s:

- `POST /v1/auth/login` (the seed's /login), weight 1;
- `POST /v1/apps/faces/people/{id}/faces` with a photo of the enrolled person (the seed's /upload: store the photo
  with its face), weight 1;
- `POST /v1/apps/faces/recognize` with a photo of the enrolled person (the seed's /facerec), weight 3.

    FACES_ACCOUNTS=accounts.json FACES_PHOTOS=Tests/AerieFacesTests/Fixtures locust -f loadtests/faces/locustfile.py --headless -u 8 -r 2 -t 60s --host http://127.0.0.1:8080
"""
import json
import os
import random
from itertools import count
from pathlib import Path

from locust import HttpUser, between, task

BASE = "/v1/apps/faces"
ACCOUNTS = json.loads(Path(os.environ["FACES_ACCOUNTS"]).read_text())
PHOTOS = Path(os.environ.get("FACES_PHOTOS", Path(__file__).resolve().parents[2] / "Tests" / "AerieFacesTests" / "Fixtures"))
ENROL = (PHOTOS / "obama.jpg").read_bytes()
RECOGNIZE = [(PHOTOS / "obama2.jpg").read_bytes(), (PHOTOS / "group.jpg").read_bytes()]
NEXT = count()


class FacesUser(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self):
        self.account = ACCOUNTS[next(NEXT) % len(ACCOUNTS)]
        self.client.headers["Authorization"] = f"Bearer {self.account['token']}"

    @task(1)
    def login(self):
        self.client.post("/v1/auth/login", json={"username": self.account["username"], "password": self.account["password"]}, name="/login")

    @task(1)
    def upload(self):
        self.client.post(f"{BASE}/people/{self.account['person']}/faces?pick=largest", data=ENROL, headers={"Content-Type": "image/jpeg"},
                         name="/upload (enrol)")

    @task(3)
    def recognize(self):
        photo = random.choice(RECOGNIZE)
        with self.client.post(f"{BASE}/recognize", data=photo, headers={"Content-Type": "image/jpeg"}, name="/facerec (recognize)",
                              catch_response=True) as response:
            if response.status_code == 200 and not response.json().get("faces"):
                response.failure("no face found")
