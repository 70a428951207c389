"""Prompts for the Imagine load tests: base prompts, each with paraphrases that the semantic cache should hit.

Taken from the paraphrase pairs of data/imagine/calibration-pairs.csv whose MiniLM similarity is well above the
default threshold (0.90) and that PromptGuard allows, so a paraphrase of a prompt generated earlier is a hit.
"""
import csv
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAIRS = REPO / "data" / "imagine" / "calibration-pairs.csv"

# (base, paraphrase): measured similarity ≥ 0.95 with all-MiniLM-L6-v2.
FAMILIES = [
    ("a fluffy white cat", "a white fluffy cat"),
    ("a big old oak tree", "an old big oak tree"),
    ("a lantern glowing in the snow", "a glowing lantern in the snow"),
    ("a dinosaur in a jungle", "a dinosaur in the jungle"),
    ("a beautiful sunset over the sea", "a gorgeous sunset over the sea"),
    ("a man in a black suit", "a man wearing a black suit"),
    ("a golden retriever puppy playing in the grass", "a golden retriever puppy plays in the grass"),
    ("a futuristic city with flying cars", "a futuristic city full of flying cars"),
    ("a woman playing the violin", "a woman plays a violin"),
    ("a city skyline at night", "the skyline of a city at night"),
    ("a waterfall in a tropical forest", "a tropical forest waterfall"),
    ("a turtle swimming in the ocean", "a sea turtle swimming in the ocean"),
    ("a tiny mouse eating cheese", "a small mouse eating cheese"),
    ("a jazz band playing in a club", "a jazz band performing in a club"),
    ("a squirrel eating a nut", "a squirrel eats a nut"),
    ("a mountain lake, oil painting", "an oil painting of a mountain lake"),
    ("a monkey eating a banana", "a monkey eats a banana"),
    ("a rainbow over a green valley", "a rainbow above a green valley"),
    ("a wizard casting a spell", "a wizard casts a spell"),
    ("a small boat on a calm lake", "a little boat on a calm lake"),
]

SUBJECTS = ["fox", "owl", "robot", "castle", "lighthouse", "teapot", "bicycle", "dragon", "violinist", "sailboat",
            "greenhouse", "submarine", "windmill", "astronaut", "hedgehog", "tram", "glacier", "pagoda", "cactus", "kite"]
PLACES = ["in a quiet library", "on a misty moor", "under a starry sky", "beside a frozen river", "in a busy market",
          "on a desert highway", "in an old greenhouse", "at the edge of a cliff", "inside a glass dome", "on a tiny island"]
STYLES = ["", ", watercolor", ", pixel art", ", oil painting", ", pencil sketch"]


def new_prompt(rng: random.Random) -> str:
    """A prompt unlikely to have been asked before (a miss): a random subject, place, style and a serial."""
    return f"a {rng.choice(SUBJECTS)} {rng.choice(PLACES)}{rng.choice(STYLES)}, study {rng.randrange(1_000_000)}"
