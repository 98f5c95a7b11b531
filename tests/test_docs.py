"""The docs stay true: every route and every error code is documented, codes are unique."""

from __future__ import annotations

import re
from pathlib import Path

from tvctl.api.app import ROUTES
from tvctl.errors import all_error_classes

ROOT = Path(__file__).resolve().parents[1]
API_DOC = (ROOT / "docs" / "api.md").read_text()


def test_error_codes_unique_snake_case_and_documented() -> None:
    from tvctl.plugins import installed

    installed()  # the platforms' own error classes are defined when their modules load
    classes = all_error_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    table = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", API_DOC, re.M))
    for cls in classes:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", cls.code), cls
        assert table.get(cls.code) == str(cls.status), f"{cls.code} missing or wrong in docs/api.md"
        assert cls.default_hint
    assert set(table) == set(codes)  # and nothing documented that does not exist


def test_docs_and_openapi_agree() -> None:
    from tvctl.api.openapi import build

    documented = set(re.findall(r"^\| (GET|POST|PATCH|DELETE) \| `([^`]+)` \|", API_DOC, re.M))
    doc = build(ROUTES)
    in_openapi = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert documented == in_openapi
    assert in_openapi == {(e.method, e.path) for e in ROUTES}
    codes = set(doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
    assert codes == set(re.findall(r"^\| `([a-z_]+)` \| \d{3} \|", API_DOC, re.M))


def test_readme_commands_match_ci() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = re.search(r"```sh\n# run the whole test suite\n(.+?)\n```", readme, re.S)
    assert test_cmd is not None, "README must carry the test command"
    assert test_cmd.group(1).strip() in ci
    assert re.search(r"```sh\n# start the daemon\n.+tvctl daemon", readme, re.S)


def test_request_and_result_tables_match_the_declared_types() -> None:
    """docs/api.md's field tables are rendered from the request and result types; rerun
    python -m tvctl.api.doctables after changing one."""
    from tvctl.api.doctables import rewrite

    assert rewrite(API_DOC) == API_DOC
    # spot checks written out here, so a renderer that printed nothing would fail too
    assert "| `repeat` | integer or null |  | >= 1, <= 50 | `null` |  |" in API_DOC
    assert "| `host` | string | yes | length >= 1, length <= 253 |  | An IPv4 address or a host name" in API_DOC
    assert "#### GET `/v1/devices/{id}/dev/logs`: query `LogQuery`" in API_DOC


def test_error_tree_in_the_errors_docstring_is_complete() -> None:
    """The tree at the top of tvctl/errors.py names every core class, under its base, with its
    code, and its status (given for each group, and where a class differs from its group)."""
    import tvctl.errors

    doc = tvctl.errors.__doc__ or ""
    assert "::\n\n" in doc
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    documented: dict[str, tuple[str | None, str, int]] = {}
    stack: list[str] = []
    for line in block.splitlines():
        m = re.fullmatch(r"    ([│├└─ ]*)([A-Za-z]+) +([a-z_]+)(?: +(\d{3}))?", line)
        assert m, f"not a row of the tree: {line!r}"
        depth = len(m.group(1)) // 4
        assert depth <= len(stack), line
        del stack[depth:]
        parent = stack[-1] if stack else None
        if m.group(4):
            status = int(m.group(4))
        else:
            assert parent is not None, f"{line!r}: the root needs a status"
            status = documented[parent][2]
        assert m.group(2) not in documented, f"{m.group(2)} twice"
        documented[m.group(2)] = (parent, m.group(3), status)
        stack.append(m.group(2))

    actual = {cls.__name__: (cls.__bases__[0].__name__ if cls is not tvctl.errors.TvctlError else None,
                             cls.code, cls.status)
              for cls in all_error_classes() if cls.__module__ == "tvctl.errors"}
    assert documented == actual
    # written out, so an empty tree compared with an empty list would not pass
    assert documented["InvalidRequest"] == ("BadRequest", "invalid_request", 400)
    assert documented["TooManyAttempts"] == ("TvctlError", "too_many_attempts", 429)
    assert documented["DeviceBusy"] == ("DeviceError", "device_busy", 503)
    assert documented["TvctlError"] == (None, "internal_error", 500)
