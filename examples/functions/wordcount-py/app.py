"""The Quickstart word counter as an out-of-process Python function (issue 18).

Deployed next to the built-in `wordcount`, on its own prefix: uploading `incoming-py/<path>.txt` to bucket
`quickstart` runs it (trigger `quickstart/incoming-py/*.txt`); it writes `results-py/<path>.json`. It uses Aerie's
HTTP API with the key Aerie gives it (AERIE_URL, AERIE_API_KEY) and nothing but the standard library.

Input: the object event of an upload ({"bucket", "key", ...}) or {"text": "..."}.
"""
import json
import os
import unicodedata
import urllib.parse
import urllib.request

WORD_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"}


def count_words(text):
    """Counts words as the built-in does: NFKC, lower case, runs of letters and decimal digits."""
    counts = {}
    total = 0
    word = []
    for character in unicodedata.normalize("NFKC", text).lower() + " ":
        if unicodedata.category(character) in WORD_CATEGORIES:
            word.append(character)
        elif word:
            key = "".join(word)
            counts[key] = counts.get(key, 0) + 1
            total += 1
            word = []
    return total, counts


def api(method, path, body=None, content_type="application/json"):
    request = urllib.request.Request(os.environ["AERIE_URL"] + path, data=body, method=method)
    request.add_header("Authorization", "Bearer " + os.environ["AERIE_API_KEY"])
    if body is not None:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def object_path(bucket, key):
    return "/v1/buckets/%s/objects/%s" % (urllib.parse.quote(bucket, safe=""), urllib.parse.quote(key, safe="/"))


def handler(event, context):
    if "text" in event:
        total, counts = count_words(event["text"])
        return {"source": None, "total": total, "counts": counts}
    bucket, key = event["bucket"], event["key"]
    text = api("GET", object_path(bucket, key)).decode("utf-8")
    total, counts = count_words(text)
    print("counted %d words (%d distinct) in %s/%s" % (total, len(counts), bucket, key))
    result = {"source": key, "total": total, "counts": counts}
    if key.startswith("incoming-py/") and key.endswith(".txt"):
        result_key = "results-py/" + key[len("incoming-py/"):-len(".txt")] + ".json"
        api("PUT", object_path(bucket, result_key), json.dumps(result, sort_keys=True).encode())
        result["result_key"] = result_key
    return result
