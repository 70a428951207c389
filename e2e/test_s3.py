"""The S3-compatible API with real clients: boto3 and the AWS CLI, over HTTP and over HTTPS with a self-signed
certificate (where botocore switches to aws-chunked bodies with checksum trailers), against one `aerie serve --s3-port`."""
import datetime
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import boto3
import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import Server, aerie_binary, busy_cpus, free_port, peak, reset_peak, wait_for

VENV_BIN = Path(sys.executable).parent


def make_certificate(directory: Path):
    cert, key = directory / "s3-cert.pem", directory / "s3-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def s3_server(workdir):
    s3_port, tls_port = free_port(), free_port()
    cert, key = make_certificate(workdir)
    # Two servers on one data directory would fight; HTTP and HTTPS each get their own.
    plain = Server(workdir / "s3-plain", extra_args=["--apps", "quickstart", "--s3-port", str(s3_port), "--s3-domain", "s3.test"]).start()
    plain.s3_url = f"http://127.0.0.1:{s3_port}"
    plain.s3_port = s3_port
    secure = Server(workdir / "s3-tls", extra_args=["--apps", "quickstart", "--s3-port", str(tls_port),
                                                     "--s3-tls-cert", str(cert), "--s3-tls-key", str(key)]).start()
    secure.s3_url = f"https://127.0.0.1:{tls_port}"
    yield plain, secure
    plain.stop()
    secure.stop()


def credential(server, user=None, read_only=False, token=None):
    token = token or server.login()
    body = {"read_only": read_only}
    if user:
        body["user"] = user
    response = requests.post(server.url + "/v1/s3/credentials", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def client(server, created, url=None, **config):
    return boto3.client("s3", endpoint_url=url or server.s3_url, region_name="us-east-1",
                        aws_access_key_id=created["access_key_id"], aws_secret_access_key=created["secret_access_key"],
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
                        verify=False)


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_credentials_rest_api_and_cli(s3_server):
    plain, _ = s3_server
    token = plain.login()
    auth = {"Authorization": f"Bearer {token}"}
    requests.post(plain.url + "/v1/users", json={"username": "dora", "password": "dora-password-1"}, headers=auth, timeout=10).raise_for_status()
    env = {**os.environ, "AERIE_URL": plain.url, "AERIE_TOKEN": token}
    created = subprocess.run([aerie_binary(), "s3", "credentials", "create", "--user", "dora", "--read-only", "--json"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert created.returncode == 0, created.stderr
    import json
    record = json.loads(created.stdout)
    assert record["owner"] == "dora" and record["read_only"] is True and len(record["secret_access_key"]) == 40
    listed = subprocess.run([aerie_binary(), "s3", "credentials", "ls"], capture_output=True, text=True, env=env, timeout=60)
    assert record["access_key_id"] in listed.stdout and "read-only" in listed.stdout
    # Listings never show secrets.
    listing = requests.get(plain.url + "/v1/s3/credentials", headers=auth, timeout=10).json()
    assert all("secret_access_key" not in item for item in listing["items"])
    # A user makes credentials for themselves only.
    dora = plain.login("dora", "dora-password-1")
    assert requests.post(plain.url + "/v1/s3/credentials", json={"user": "admin"}, headers={"Authorization": f"Bearer {dora}"},
                         timeout=10).status_code == 403
    own = credential(plain, token=dora)
    assert own["owner"] == "dora"
    removed = subprocess.run([aerie_binary(), "s3", "credentials", "rm", record["access_key_id"]], capture_output=True, text=True,
                             env=env, timeout=60)
    assert removed.returncode == 0, removed.stderr
    with pytest.raises(ClientError) as excinfo:
        client(plain, record).list_buckets()
    assert error_code(excinfo) == "InvalidAccessKeyId"


def test_boto3_objects_over_http(s3_server):
    plain, _ = s3_server
    s3 = client(plain, credential(plain))
    s3.create_bucket(Bucket="boto")
    assert "boto" in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket="boto")
    body = b"hello from boto3 " * 100
    put = s3.put_object(Bucket="boto", Key="dir/hello.txt", Body=body, ContentType="text/plain", Metadata={"colour": "blue"},
                        CacheControl="max-age=60")
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket="boto", Key="dir/hello.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"colour": "blue"} and got["CacheControl"] == "max-age=60"
    assert s3.get_object(Bucket="boto", Key="dir/hello.txt", Range="bytes=6-9")["Body"].read() == b"from"
    head = s3.head_object(Bucket="boto", Key="dir/hello.txt")
    assert head["ContentLength"] == len(body)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="boto", Key="dir/hello.txt", IfMatch='"0000"')
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="boto", Key="nope")
    assert error_code(excinfo) == "NoSuchKey"
    overridden = s3.get_object(Bucket="boto", Key="dir/hello.txt", ResponseContentType="application/x-test")
    assert overridden["ContentType"] == "application/x-test"

    # The same object through the REST API, and the reverse.
    auth = {"Authorization": f"Bearer {plain.login()}"}
    assert requests.get(plain.url + "/v1/buckets/boto/objects/dir/hello.txt", headers=auth, timeout=10).content == body
    requests.put(plain.url + "/v1/buckets/boto/objects/rest.txt", data=b"from rest", headers=auth, timeout=10).raise_for_status()
    assert s3.get_object(Bucket="boto", Key="rest.txt")["Body"].read() == b"from rest"

    for index in range(7):
        s3.put_object(Bucket="boto", Key=f"many/{index:02d}", Body=b"x")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="boto", Prefix="many/", PaginationConfig={"PageSize": 3})
    assert [item["Key"] for page in pages for item in page.get("Contents", [])] == [f"many/{i:02d}" for i in range(7)]
    rolled = s3.list_objects_v2(Bucket="boto", Delimiter="/")
    assert [prefix["Prefix"] for prefix in rolled["CommonPrefixes"]] == ["dir/", "many/"]
    assert [item["Key"] for item in rolled["Contents"]] == ["rest.txt"]
    v1 = s3.get_paginator("list_objects").paginate(Bucket="boto", Prefix="many/", PaginationConfig={"PageSize": 2})
    assert len([item for page in v1 for item in page.get("Contents", [])]) == 7
    odd = "odd key/with spaces+plus&amp;ü.txt"
    s3.put_object(Bucket="boto", Key=odd, Body=b"odd")
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="boto", Prefix="odd")["Contents"]] == [odd]
    assert s3.get_object(Bucket="boto", Key=odd)["Body"].read() == b"odd"

    s3.copy_object(Bucket="boto", Key="copy.txt", CopySource={"Bucket": "boto", "Key": "dir/hello.txt"})
    assert s3.get_object(Bucket="boto", Key="copy.txt")["Metadata"] == {"colour": "blue"}
    s3.copy_object(Bucket="boto", Key="copy2.txt", CopySource="boto/dir/hello.txt", MetadataDirective="REPLACE", Metadata={"new": "1"})
    assert s3.head_object(Bucket="boto", Key="copy2.txt")["Metadata"] == {"new": "1"}

    deleted = s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": f"many/{i:02d}"} for i in range(7)]})
    assert len(deleted["Deleted"]) == 7
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket="boto")
    assert error_code(excinfo) == "BucketNotEmpty"
    for key in ["dir/hello.txt", "rest.txt", odd, "copy.txt", "copy2.txt"]:
        s3.delete_object(Bucket="boto", Key=key)
    s3.delete_bucket(Bucket="boto")
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket="boto")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_presigned_urls_and_bad_signatures(s3_server):
    plain, _ = s3_server
    created = credential(plain)
    s3 = client(plain, created)
    s3.create_bucket(Bucket="presign")
    s3.put_object(Bucket="presign", Key="k.txt", Body=b"presigned body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "k.txt"}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    assert requests.get(url, timeout=10).content == b"presigned body"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "presign", "Key": "up.txt"}, ExpiresIn=60)
    assert requests.put(put_url, data=b"uploaded", timeout=10).status_code == 200
    assert s3.get_object(Bucket="presign", Key="up.txt")["Body"].read() == b"uploaded"
    short = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "k.txt"}, ExpiresIn=1)
    time.sleep(2.1)
    expired = requests.get(short, timeout=10)
    assert expired.status_code == 403 and b"Request has expired" in expired.content and b"<RequestId>" in expired.content
    tampered = url.replace("k.txt", "up.txt")
    assert b"SignatureDoesNotMatch" in requests.get(tampered, timeout=10).content

    wrong = client(plain, {**created, "secret_access_key": "x" * 40})
    with pytest.raises(ClientError) as excinfo:
        wrong.get_object(Bucket="presign", Key="k.txt")
    assert error_code(excinfo) == "SignatureDoesNotMatch"
    anonymous = requests.get(plain.s3_url + "/presign/k.txt", timeout=10)
    assert anonymous.status_code == 403 and b"<Code>AccessDenied</Code>" in anonymous.content

    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket="presign", Key="bad.txt", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert error_code(excinfo) == "BadDigest"
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket="presign", Key="bad.txt")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_skewed_clock_is_refused(s3_server):
    plain, _ = s3_server
    created = credential(plain)
    signer = S3SigV4Auth(Credentials(created["access_key_id"], created["secret_access_key"]), "s3", "us-east-1")

    def signed_at(offset):
        # botocore signs with the time from get_current_datetime: a client whose clock is `offset` seconds off.
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(seconds=offset)
        request = AWSRequest(method="GET", url=plain.s3_url + "/")
        with mock.patch("botocore.auth.get_current_datetime", return_value=now):
            signer.add_auth(request)
        return requests.get(plain.s3_url + "/", headers=dict(request.headers), timeout=10)
    assert signed_at(-10 * 60).status_code == 200
    for offset in (-20 * 60, 20 * 60):
        response = signed_at(offset)
        assert response.status_code == 403 and b"<Code>RequestTimeTooSkewed</Code>" in response.content


def test_owners_users_and_read_only(s3_server):
    plain, _ = s3_server
    token = plain.login()
    auth = {"Authorization": f"Bearer {token}"}
    for name in ["erin", "fred"]:
        requests.post(plain.url + "/v1/users", json={"username": name, "password": f"{name}-password-1"}, headers=auth, timeout=10).raise_for_status()
    erin = client(plain, credential(plain, user="erin"))
    fred = client(plain, credential(plain, user="fred"))
    erin_read = client(plain, credential(plain, user="erin", read_only=True))
    erin.create_bucket(Bucket="erins")
    erin.put_object(Bucket="erins", Key="a", Body=b"a")
    assert [bucket["Name"] for bucket in fred.list_buckets()["Buckets"]] == []
    for call in [lambda: fred.get_object(Bucket="erins", Key="a"), lambda: fred.put_object(Bucket="erins", Key="b", Body=b"b"),
                 lambda: fred.put_object(Bucket="quickstart", Key="incoming/x.txt", Body=b"x"),
                 lambda: erin_read.put_object(Bucket="erins", Key="c", Body=b"c")]:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "AccessDenied"
    assert erin_read.get_object(Bucket="erins", Key="a")["Body"].read() == b"a"


def test_virtual_host_style_with_s3_domain(s3_server):
    plain, _ = s3_server
    created = credential(plain)
    s3 = client(plain, created)
    s3.create_bucket(Bucket="vbucket")
    s3.put_object(Bucket="vbucket", Key="v/key.txt", Body=b"virtual")
    host = f"vbucket.s3.test:{plain.s3_port}"
    request = AWSRequest(method="GET", url=f"http://{host}/v/key.txt")
    S3SigV4Auth(Credentials(created["access_key_id"], created["secret_access_key"]), "s3", "us-east-1").add_auth(request)
    response = requests.get(plain.s3_url + "/v/key.txt", headers={**dict(request.headers), "Host": host}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.content == b"virtual"


def test_expect_100_continue_is_answered_at_once(s3_server):
    plain, _ = s3_server
    with socket.create_connection(("127.0.0.1", plain.s3_port), timeout=5) as sock:
        sock.sendall(b"PUT /any/key HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        sock.settimeout(0.5)
        first = sock.recv(200)
        assert first.startswith(b"HTTP/1.1 100 Continue"), first
        sock.settimeout(5)
        sock.sendall(b"abc")
        rest = b""
        while b"</Error>" not in rest:
            chunk = sock.recv(4096)
            if not chunk:
                break
            rest += chunk
        assert b"403" in rest.split(b"\r\n")[0] + first and b"AccessDenied" in rest


def test_boto3_over_https_sends_aws_chunked_with_trailers(s3_server):
    _, secure = s3_server
    created = credential(secure)
    s3 = client(secure, created)
    s3.create_bucket(Bucket="tls")
    seen = {}

    def remember(request, **_):
        seen.update({name.lower(): value for name, value in request.headers.items()})
    s3.meta.events.register("before-send.s3.PutObject", remember)
    body = os.urandom(300_000)
    s3.put_object(Bucket="tls", Key="random.bin", Body=body)
    # What current botocore sends over HTTPS: aws-chunked with a CRC32 trailer (the object must be the payload alone).
    header = lambda name: seen[name].decode() if isinstance(seen[name], bytes) else seen[name]
    assert header("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert header("x-amz-trailer") == "x-amz-checksum-crc32" and "aws-chunked" in header("content-encoding")
    got = s3.get_object(Bucket="tls", Key="random.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    auth = {"Authorization": f"Bearer {secure.login()}"}
    assert requests.get(secure.url + "/v1/buckets/tls/objects/random.bin", headers=auth, timeout=10).content == body
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket="tls", Key="bad.bin", Body=b"abc", ChecksumCRC32="AAAAAA==")
    assert error_code(excinfo) == "BadDigest"
    for algorithm in ["CRC32", "SHA1", "SHA256"]:  # CRC32C needs awscrt in botocore; the Swift tests check it
        s3.put_object(Bucket="tls", Key=f"sum-{algorithm}", Body=b"checksummed", ChecksumAlgorithm=algorithm)
        assert s3.get_object(Bucket="tls", Key=f"sum-{algorithm}")["Body"].read() == b"checksummed"


def test_trailer_checksums_are_stored_and_multipart_gets_a_composite_checksum(s3_server):
    """Over HTTPS botocore sends each checksum as an aws-chunked trailer, after the body: it is stored all the same,
    returned in checksum mode (not on a ranged read); an upload made with a checksum algorithm gets `…-N`."""
    import base64
    import zlib
    _, secure = s3_server
    created = credential(secure)
    s3 = client(secure, created)
    s3.create_bucket(Bucket="sums")
    body = os.urandom(200_000)
    crc = lambda data: base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    sha256 = lambda data: base64.b64encode(hashlib.sha256(data).digest()).decode()
    s3.put_object(Bucket="sums", Key="crc", Body=body)  # botocore's default: a CRC32 trailer
    got = s3.get_object(Bucket="sums", Key="crc", ChecksumMode="ENABLED")
    assert got["Body"].read() == body and got["ChecksumCRC32"] == crc(body)
    assert s3.head_object(Bucket="sums", Key="crc", ChecksumMode="ENABLED")["ChecksumCRC32"] == crc(body)
    # botocore asks for checksums by default; a client that does not gets none.
    assert "ChecksumCRC32" not in client(secure, created, response_checksum_validation="when_required").get_object(Bucket="sums", Key="crc")
    ranged = s3.get_object(Bucket="sums", Key="crc", ChecksumMode="ENABLED", Range="bytes=0-99")
    assert ranged["Body"].read() == body[:100] and "ChecksumCRC32" not in ranged
    s3.put_object(Bucket="sums", Key="sha", Body=body, ChecksumAlgorithm="SHA256")
    assert s3.head_object(Bucket="sums", Key="sha", ChecksumMode="ENABLED")["ChecksumSHA256"] == sha256(body)

    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    upload = s3.create_multipart_upload(Bucket="sums", Key="multi", ChecksumAlgorithm="SHA256")["UploadId"]
    etags = [s3.upload_part(Bucket="sums", Key="multi", UploadId=upload, PartNumber=number, Body=part, ChecksumAlgorithm="SHA256")
             for number, part in enumerate(parts, 1)]
    assert [e["ChecksumSHA256"] for e in etags] == [sha256(part) for part in parts]
    done = s3.complete_multipart_upload(Bucket="sums", Key="multi", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": number, "ETag": e["ETag"], "ChecksumSHA256": e["ChecksumSHA256"]} for number, e in enumerate(etags, 1)]})
    composite = base64.b64encode(hashlib.sha256(b"".join(hashlib.sha256(part).digest() for part in parts)).digest()).decode() + "-2"
    assert done["ChecksumSHA256"] == composite
    head = s3.head_object(Bucket="sums", Key="multi", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == composite and head["ContentLength"] == sum(map(len, parts))


def test_credential_revocation_takes_effect_at_once(s3_server):
    """Credentials are cached (lookup, unsealing, signing key), yet a revocation through the API, or a user disabled by
    `aerie users disable` on the data directory (another process), refuses the very next request."""
    plain, _ = s3_server
    token = plain.login()
    auth = {"Authorization": f"Bearer {token}"}
    requests.post(plain.url + "/v1/users", json={"username": "revokee", "password": "revokee-password-1"}, headers=auth,
                  timeout=10).raise_for_status()
    first, second = credential(plain, user="revokee"), credential(plain, user="revokee")
    s3 = client(plain, first)
    s3.create_bucket(Bucket="revocation")
    for _ in range(3):  # warm: from here on the credential is served from the cache
        s3.list_objects_v2(Bucket="revocation")
    response = requests.delete(plain.url + "/v1/s3/credentials/" + first["access_key_id"], headers=auth, timeout=10)
    assert response.status_code in (200, 204), response.text
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket="revocation")
    assert error_code(excinfo) == "InvalidAccessKeyId"

    other = client(plain, second)
    for _ in range(3):
        other.list_objects_v2(Bucket="revocation")
    disabled = subprocess.run([aerie_binary(), "users", "disable", "revokee", "--data", str(plain.data_dir)],
                              capture_output=True, text=True, timeout=60)
    assert disabled.returncode == 0, disabled.stderr
    with pytest.raises(ClientError) as excinfo:
        other.list_objects_v2(Bucket="revocation")
    assert error_code(excinfo) == "InvalidAccessKeyId"


def test_dot_segment_keys_are_ordinary_keys(s3_server):
    """S3 keys may hold `.`/`..` segments and start with `/`: each is its own object inside its bucket (files are named
    by hashes), none lands on the key it would name as a path; the REST routes refuse them (URL paths normalize dots)."""
    plain, _ = s3_server
    s3 = client(plain, credential(plain))
    s3.create_bucket(Bucket="dots")
    s3.create_bucket(Bucket="dots-victim")
    before = {path for path in plain.data_dir.rglob("*")}
    keys = ["a/../b", "../escape", "..", ".", "./x", "/lead", "//", "../dots-victim/file", "../../../../../../etc/passwd",
            "x/./y/../z"]
    for index, key in enumerate(keys):
        s3.put_object(Bucket="dots", Key=key, Body=f"dot {index}".encode())
    for index, key in enumerate(keys):
        assert s3.get_object(Bucket="dots", Key=key)["Body"].read() == f"dot {index}".encode(), key
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket="dots")["Contents"]]
    assert sorted(listed) == sorted(keys)
    for plain_key in ["b", "escape", "x", "lead", "etc/passwd"]:
        with pytest.raises(ClientError):
            s3.head_object(Bucket="dots", Key=plain_key)
    assert "Contents" not in s3.list_objects_v2(Bucket="dots-victim")
    # Every new file is inside the data directory, none named after a key.
    created = {path for path in plain.data_dir.rglob("*")} - before
    assert created and all(path.resolve().is_relative_to(plain.data_dir.resolve()) for path in created)
    assert not any(part in ("passwd", "escape", "lead") for path in created for part in path.parts)
    # The REST routes refuse them with a problem that names the S3 API.
    auth = {"Authorization": f"Bearer {plain.login()}"}
    response = requests.get(plain.url + "/v1/buckets/dots/objects/..%2Fescape", headers=auth, timeout=10)
    assert response.status_code == 400 and "S3 API" in response.text
    s3.delete_objects(Bucket="dots", Delete={"Objects": [{"Key": key} for key in keys]})
    assert "Contents" not in s3.list_objects_v2(Bucket="dots")


def test_racing_conditional_puts_have_one_winner(s3_server):
    """Sixteen clients put the same key at once with `If-None-Match: *` (S3's create-only write, used as a lock):
    exactly one gets 200, the others 412, and the object is the winner's."""
    plain, _ = s3_server
    created = credential(plain)
    clients = [client(plain, created) for _ in range(16)]
    clients[0].create_bucket(Bucket="race")
    results = [None] * len(clients)
    barrier = threading.Barrier(len(clients))

    def put(index):
        body = bytes([index]) * (256 << 10)
        barrier.wait()
        try:
            results[index] = clients[index].put_object(Bucket="race", Key="lock", Body=body, IfNoneMatch="*")["ETag"]
        except ClientError as error:
            results[index] = error.response["Error"]["Code"]

    threads = [threading.Thread(target=put, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [index for index, result in enumerate(results) if result not in ("PreconditionFailed", None)]
    assert len(winners) == 1, results
    assert results.count("PreconditionFailed") == len(clients) - 1, results
    stored = clients[0].get_object(Bucket="race", Key="lock")["Body"].read()
    assert stored == bytes([winners[0]]) * (256 << 10)


def test_list_object_versions_on_an_unversioned_bucket(s3_server):
    """Cleanup code (s3-tests', many tools') lists versions: each object once, as version "null"."""
    plain, _ = s3_server
    s3 = client(plain, credential(plain))
    s3.create_bucket(Bucket="versions")
    for key in ["a", "b/c", "b/d"]:
        s3.put_object(Bucket="versions", Key=key, Body=b"v")
    listing = s3.list_object_versions(Bucket="versions")
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listing["Versions"]] == [("a", "null", True), ("b/c", "null", True),
                                                                                        ("b/d", "null", True)]
    page = s3.list_object_versions(Bucket="versions", MaxKeys=2)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "b/c"
    rest = s3.list_object_versions(Bucket="versions", KeyMarker=page["NextKeyMarker"])
    assert [v["Key"] for v in rest["Versions"]] == ["b/d"]
    s3.delete_objects(Bucket="versions", Delete={"Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listing["Versions"]]})
    s3.delete_bucket(Bucket="versions")


def aws_cli(server, created, *args, check=True, cwd=None):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": created["access_key_id"], "AWS_SECRET_ACCESS_KEY": created["secret_access_key"],
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(server.data_dir.parent / "aws-config"),
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    aws = str(VENV_BIN / "aws") if (VENV_BIN / "aws").exists() else "aws"
    completed = subprocess.run([aws, "--endpoint-url", server.s3_url, "--no-verify-ssl", *args], capture_output=True, text=True,
                               env=env, timeout=180, cwd=cwd)
    if check:
        assert completed.returncode == 0, f"aws {' '.join(args)}:\n{completed.stdout}\n{completed.stderr}"
    return completed


@pytest.mark.parametrize("which", ["http", "https"])
def test_aws_cli(s3_server, tmp_path, which):
    server = s3_server[0] if which == "http" else s3_server[1]
    (server.data_dir.parent / "aws-config").write_text("[default]\ns3 =\n  addressing_style = path\n")
    created = credential(server)
    bucket = f"cli-{which}"
    aws_cli(server, created, "s3", "mb", f"s3://{bucket}")
    assert bucket in aws_cli(server, created, "s3", "ls").stdout
    local = tmp_path / "tree"
    (local / "sub").mkdir(parents=True)
    (local / "one.txt").write_text("one")
    (local / "sub" / "two.txt").write_text("two")
    big = os.urandom(9 * 1024 * 1024)  # above the CLI's 8 MiB multipart threshold
    (local / "big.bin").write_bytes(big)
    aws_cli(server, created, "s3", "sync", str(local), f"s3://{bucket}/tree")
    listing = aws_cli(server, created, "s3", "ls", "--recursive", f"s3://{bucket}/").stdout
    for key in ["tree/one.txt", "tree/sub/two.txt", "tree/big.bin"]:
        assert key in listing
    aws_cli(server, created, "s3", "cp", f"s3://{bucket}/tree/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == big
    big_head = aws_cli(server, created, "s3api", "head-object", "--bucket", bucket, "--key", "tree/big.bin").stdout
    assert '-2\\""' in big_head  # the multipart ETag: md5 of the parts' md5s, dash, part count
    head = aws_cli(server, created, "s3api", "head-object", "--bucket", bucket, "--key", "tree/one.txt").stdout
    assert '"ContentLength": 3' in head
    aws_cli(server, created, "s3", "rm", "--recursive", f"s3://{bucket}/tree")
    aws_cli(server, created, "s3", "rb", f"s3://{bucket}")
    assert bucket not in aws_cli(server, created, "s3", "ls").stdout


def test_aws_cli_upload_runs_the_quickstart_trigger(s3_server, tmp_path):
    plain, _ = s3_server
    (plain.data_dir.parent / "aws-config").write_text("[default]\ns3 =\n  addressing_style = path\n")
    created = credential(plain)
    note = tmp_path / "note.txt"
    note.write_text("one fish two fish red fish blue fish")
    aws_cli(plain, created, "s3", "cp", str(note), "s3://quickstart/incoming/")
    auth = {"Authorization": f"Bearer {plain.login()}"}

    def result():
        response = requests.get(plain.url + "/v1/buckets/quickstart/objects/results/note.json", headers=auth, timeout=10)
        return response.json() if response.status_code == 200 else None
    document = wait_for(result, timeout=30, what="results/note.json")
    assert document["source"] == "incoming/note.txt" and document["total"] == 8 and document["counts"]["fish"] == 4


def test_boto3_multipart_upload(s3_server, tmp_path):
    from boto3.s3.transfer import TransferConfig
    plain, _ = s3_server
    s3 = client(plain, credential(plain))
    s3.create_bucket(Bucket="multi")
    data = os.urandom(12 * 1024 * 1024 + 123)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    s3.upload_file(str(source), "multi", "big.bin",
                   Config=TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=3))
    head = s3.head_object(Bucket="multi", Key="big.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    target = tmp_path / "back.bin"
    s3.download_file("multi", "big.bin", str(target))
    assert target.read_bytes() == data

    upload = s3.create_multipart_upload(Bucket="multi", Key="bad")["UploadId"]
    small = s3.upload_part(Bucket="multi", Key="bad", UploadId=upload, PartNumber=1, Body=b"tiny")["ETag"]
    last = s3.upload_part(Bucket="multi", Key="bad", UploadId=upload, PartNumber=2, Body=b"end")["ETag"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="multi")["Uploads"]] == [upload]
    assert [p["PartNumber"] for p in s3.list_parts(Bucket="multi", Key="bad", UploadId=upload)["Parts"]] == [1, 2]
    for parts, code in [([{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}], "EntityTooSmall"),
                        ([{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}], "InvalidPartOrder"),
                        ([{"PartNumber": 1, "ETag": last}], "InvalidPart")]:
        with pytest.raises(ClientError) as excinfo:
            s3.complete_multipart_upload(Bucket="multi", Key="bad", UploadId=upload, MultipartUpload={"Parts": parts})
        assert error_code(excinfo) == code
    s3.abort_multipart_upload(Bucket="multi", Key="bad", UploadId=upload)
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket="multi", Key="bad", UploadId=upload)
    assert error_code(excinfo) == "NoSuchUpload"


def test_large_bodies_stream_without_sitting_in_memory(s3_server, tmp_path):
    """A 512 MiB PUT and GET: the server's peak resident memory stays far below the object's size."""
    plain, _ = s3_server
    s3 = client(plain, credential(plain))
    s3.create_bucket(Bucket="large")
    size = 512 * 1024 * 1024
    source = tmp_path / "large.bin"
    with open(source, "wb") as handle:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            handle.write(block)
    with open(source, "rb") as body:
        s3.put_object(Bucket="large", Key="large.bin", Body=body)
    peak_after_put = peak(plain.process.pid)
    # The GET runs with every core busy, where a download that does not wait for the connection queues chunks.
    with busy_cpus():
        before_get = reset_peak(plain.process.pid)
        received = 0
        for chunk in s3.get_object(Bucket="large", Key="large.bin")["Body"].iter_chunks(1 << 20):
            received += len(chunk)
        get_rise = peak(plain.process.pid) - before_get
    assert received == size
    print(f"aerie serve peak resident memory after a {size >> 20} MiB PUT: {peak_after_put >> 20} MiB; "
          f"the GET raised it by {get_rise / 2**20:.1f} MiB")
    assert peak_after_put < size / 2, f"peak resident memory {peak_after_put >> 20} MiB for a {size >> 20} MiB object"
    assert get_rise < 16 * 1024 * 1024, f"a {size >> 20} MiB GET raised peak resident memory by {get_rise >> 20} MiB"
    s3.delete_object(Bucket="large", Key="large.bin")


def test_s3cmd_as_a_second_client(s3_server, tmp_path):
    """s3cmd (Debian's package) signs with SigV4 by itself: make a bucket, put, list, get, delete, remove the bucket."""
    import shutil
    s3cmd = shutil.which("s3cmd")
    if not s3cmd:
        pytest.skip("s3cmd is not installed (scripts/install-deps.sh test installs it)")
    plain, _ = s3_server
    created = credential(plain)
    host = f"127.0.0.1:{plain.s3_port}"
    config = tmp_path / "s3cfg"
    config.write_text(f"[default]\naccess_key = {created['access_key_id']}\nsecret_key = {created['secret_access_key']}\n"
                      f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n")

    def run(*args):
        completed = subprocess.run([s3cmd, "-c", str(config), *args], capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, f"s3cmd {' '.join(args)}:\n{completed.stdout}\n{completed.stderr}"
        return completed.stdout
    source = tmp_path / "hello.txt"
    source.write_text("hello from s3cmd")
    run("mb", "s3://s3cmd-bucket")
    run("put", str(source), "s3://s3cmd-bucket/dir/hello.txt")
    assert "s3://s3cmd-bucket/dir/hello.txt" in run("ls", "--recursive", "s3://s3cmd-bucket")
    run("get", "s3://s3cmd-bucket/dir/hello.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "hello from s3cmd"
    run("del", "s3://s3cmd-bucket/dir/hello.txt")
    run("rb", "s3://s3cmd-bucket")
