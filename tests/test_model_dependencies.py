"""model/dependencies.py: every declaration format, with exact names, specs and lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from prodaudit.findings import Location
from prodaudit.model.dependencies import (
    Dependency,
    DependencyReport,
    classify_spec,
    parse_requirement,
    python_floor,
    read_dependencies,
)


def read(tmp_path: Path, files: dict[str, str | bytes], listed: list[str] | None = None
         ) -> DependencyReport:
    for relative, content in files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content).lstrip("\n"))
    return read_dependencies(tmp_path, listed if listed is not None else sorted(files))


def rows(report: DependencyReport) -> list[tuple[str, str, str, str, int]]:
    return [(d.name, d.spec, d.status, d.group, d.location.line) for d in report.dependencies]


# -- specifiers ------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "poetry", "status"), [
    ("==1.2.3", False, "pinned"),
    ("===1.0", False, "pinned"),
    (">=1.0,<2", False, "ranged"),
    ("<=2", False, "ranged"),
    ("~=1.4", False, "ranged"),
    ("==1.*", False, "ranged"),
    (">=1.0", False, "unbounded"),
    (">1", False, "unbounded"),
    ("!=1.5", False, "unbounded"),
    ("", False, "unbounded"),
    ("*", True, "unbounded"),
    ("1.2.3", True, "pinned"),
    ("^0.110", True, "ranged"),
    ("~1.2", True, "ranged"),
    (">= 1.2 < 2.0", True, "ranged"),
    ("1.2.*", True, "ranged"),
    ("^1.0 || ^2.0", True, "ranged"),
    ("^1.0 || >=3", True, "unbounded"),
])
def test_classify_spec(spec, poetry, status):
    assert classify_spec(spec, poetry=poetry) == status


@pytest.mark.parametrize(("constraint", "floor"), [
    (">=3.11", (3, 11)),
    ("^3.12", (3, 12)),
    ("~=3.10", (3, 10)),
    (">=3.8, <4", (3, 8)),
    (">= 3.9.2", (3, 9)),
    ("==3.11.*", (3, 11)),
    ("3.11", (3, 11)),
    (">3.10", (3, 10)),
    ("~3.11", (3, 11)),
    (">=3.8,<3.9 || >=3.10", (3, 8)),
    ("<3.13", None),
    ("*", None),
    ("", None),
    (None, None),
])
def test_python_floor(constraint, floor):
    assert python_floor(constraint) == floor


def test_parse_requirement_forms():
    parsed = parse_requirement('Uvicorn[standard] (>=0.29,<1) ; python_version >= "3.11"')
    assert (parsed.name, parsed.spec, parsed.status, parsed.extras, parsed.marker) == (
        "uvicorn", ">=0.29,<1", "ranged", ("standard",), 'python_version >= "3.11"')
    direct = parse_requirement("my_lib @ git+https://github.com/o/my-lib.git@3f2a9c1")
    assert (direct.name, direct.status) == ("my-lib", "pinned")
    branch = parse_requirement("my.lib @ git+https://github.com/o/my-lib.git@main")
    assert (branch.name, branch.status) == ("my-lib", "unbounded")
    wheel = parse_requirement("https://example.com/dl/Foo_Bar-1.0-py3-none-any.whl")
    assert (wheel.name, wheel.status) == ("foo-bar", "pinned")
    assert parse_requirement("not a requirement") is None
    assert parse_requirement("./some/dir") is None


# -- pyproject.toml --------------------------------------------------------------------

def test_pep621_optional_and_dependency_groups(tmp_path):
    report = read(tmp_path, {"pyproject.toml": """
        [project]
        name = "svc"
        requires-python = ">=3.11"
        dependencies = [
            "fastapi>=0.110",
            "SQLAlchemy[asyncio]~=2.0",
            'redis==5.0.1',
            "httpx",
        ]

        [project.optional-dependencies]
        dev = ["pytest>=8,<9"]
        postgres = ["asyncpg==0.29.0"]

        [dependency-groups]
        lint = ["ruff", {include-group = "dev"}]

        [tool.uv]
        dev-dependencies = ["mypy==1.10"]

        [tool.pdm.dev-dependencies]
        docs = ["mkdocs>=1"]
    """})
    assert rows(report) == [
        ("fastapi", ">=0.110", "unbounded", "main", 5),
        ("sqlalchemy", "~=2.0", "ranged", "main", 6),
        ("redis", "==5.0.1", "pinned", "main", 7),
        ("httpx", "", "unbounded", "main", 8),
        ("pytest", ">=8,<9", "ranged", "dev", 12),
        ("asyncpg", "==0.29.0", "pinned", "postgres", 13),
        ("ruff", "", "unbounded", "lint", 16),
        ("mypy", "==1.10", "pinned", "dev", 19),
        ("mkdocs", ">=1", "unbounded", "docs", 22),
    ]
    assert report.dependencies[1].extras == ("asyncio",)
    assert report.dependencies[1].location == Location("pyproject.toml", 6)
    assert (report.requires_python, report.requires_python_location) == (
        ">=3.11", Location("pyproject.toml", 3))
    assert report.lock_files == () and report.notes == ()
    assert report.names("main") == {"fastapi", "sqlalchemy", "redis", "httpx"}
    assert [d.spec for d in report.named("SQLAlchemy")] == ["~=2.0"]


def test_poetry_dependencies(tmp_path):
    report = read(tmp_path, {"pyproject.toml": """
        [tool.poetry]
        name = "svc"

        [tool.poetry.dependencies]
        python = "^3.12"
        fastapi = "^0.110.0"
        pydantic = "2.7.1"
        uvicorn = {version = "~0.29", extras = ["standard"]}
        asyncpg = { version = "*", optional = true }
        "my.lib" = { git = "https://github.com/o/my-lib.git", tag = "v1.2" }
        other = { git = "https://github.com/o/other.git", branch = "main" }
        local = { path = "../local", develop = true }
        numpy = [
            { version = "^1.24", python = "<3.12" },
            { version = ">=1.26", python = ">=3.12" },
        ]

        [tool.poetry.extras]
        pg = ["asyncpg"]

        [tool.poetry.dev-dependencies]
        black = "23.1.0"

        [tool.poetry.group.test.dependencies]
        pytest = ">=8"
    """})
    assert rows(report) == [
        ("fastapi", "^0.110.0", "ranged", "main", 6),
        ("pydantic", "2.7.1", "pinned", "main", 7),
        ("uvicorn", "~0.29", "ranged", "main", 8),
        ("asyncpg", "*", "unbounded", "pg", 9),
        ("my-lib", "git https://github.com/o/my-lib.git @ v1.2", "pinned", "main", 10),
        ("other", "git https://github.com/o/other.git branch main", "unbounded", "main", 11),
        ("numpy", "^1.24", "ranged", "main", 13),
        ("numpy", ">=1.26", "unbounded", "main", 13),
        ("black", "23.1.0", "pinned", "dev", 22),
        ("pytest", ">=8", "unbounded", "test", 25),
    ]
    assert report.dependencies[2].extras == ("standard",)
    assert (report.requires_python, report.requires_python_location) == (
        "^3.12", Location("pyproject.toml", 5))
    assert python_floor(report.requires_python) == (3, 12)


# -- requirements files ----------------------------------------------------------------

def test_requirements_includes_comments_markers_hashes_and_urls(tmp_path):
    report = read(tmp_path, {
        "requirements.txt": """
            # production
            -r requirements/base.txt
            --index-url https://pypi.org/simple
            uvicorn[standard]>=0.29  # server
            gunicorn==22.0.0 \\
                --hash=sha256:aaaa \\
                --hash=sha256:bbbb
            pywin32==306 ; sys_platform == "win32"
            -e git+https://github.com/o/lib.git@abc1234#egg=our_lib
            -e .
            lib2 @ https://example.com/lib2-2.0.tar.gz
            this is not valid
        """,
        "requirements/base.txt": "fastapi>=0.110,<0.112\n-r ../requirements.txt\n",
        "requirements-dev.txt": "-r requirements.txt\npytest==8.2.0\n",
    }, listed=["requirements.txt", "requirements-dev.txt"])
    assert rows(report) == [
        ("fastapi", ">=0.110,<0.112", "ranged", "main", 1),
        ("uvicorn", ">=0.29", "unbounded", "main", 4),
        ("gunicorn", "==22.0.0", "pinned", "main", 5),
        ("pywin32", "==306", "pinned", "main", 8),
        ("our-lib", "git+https://github.com/o/lib.git@abc1234#egg=our_lib", "pinned", "main",
         9),
        ("lib2", "https://example.com/lib2-2.0.tar.gz", "pinned", "main", 11),
        ("pytest", "==8.2.0", "pinned", "dev", 2),
    ]
    assert [d.location.path for d in report.dependencies] == [
        "requirements/base.txt", *["requirements.txt"] * 5, "requirements-dev.txt"]
    assert report.dependencies[3].marker == 'sys_platform == "win32"'
    # requirements-dev.txt only pins its own entry: every entry pinned -> counts as a lock
    assert report.lock_files == ("requirements-dev.txt",)
    assert report.notes == (("requirements.txt:12: could not read requirement "
                            "'this is not valid'"),)


def test_fully_pinned_requirements_is_a_lock_and_lock_files(tmp_path):
    report = read(tmp_path, {
        "requirements/prod.txt": "anyio==4.4.0\nsniffio===1.3.1\n",
        "requirements/test.txt": "pytest>=8\n",
        "uv.lock": "version = 1\n",
        "poetry.lock": "# not listed by discovery, found at the root\n",
    }, listed=["requirements/prod.txt", "requirements/test.txt", "uv.lock"])
    assert report.lock_files == ("uv.lock", "poetry.lock", "requirements/prod.txt")
    assert [d.group for d in report.dependencies] == ["main", "main", "dev"]


# -- setup.cfg and Pipfile -------------------------------------------------------------

def test_setup_cfg(tmp_path):
    report = read(tmp_path, {"setup.cfg": """
        [metadata]
        name = svc

        [options]
        python_requires = >=3.10
        install_requires =
            aiohttp>=3.9,<4
            # a comment
            attrs
        [options.extras_require]
        test =
            pytest==8.0.0
    """})
    assert rows(report) == [
        ("aiohttp", ">=3.9,<4", "ranged", "main", 7),
        ("attrs", "", "unbounded", "main", 9),
        ("pytest", "==8.0.0", "pinned", "test", 12),
    ]
    assert (report.requires_python, report.requires_python_location) == (
        ">=3.10", Location("setup.cfg", 5))


def test_pipfile(tmp_path):
    report = read(tmp_path, {"Pipfile": """
        [[source]]
        url = "https://pypi.org/simple"

        [packages]
        django = "*"
        requests = "==2.32.3"
        celery = {version = "~=5.4", extras = ["redis"]}
        mylib = {git = "https://github.com/o/mylib.git", ref = "v2.0"}
        local = {path = ".", editable = true}

        [dev-packages]
        pytest = ">=8"

        [requires]
        python_version = "3.11"
    """, "Pipfile.lock": "{}"})
    assert rows(report) == [
        ("django", "*", "unbounded", "main", 5),
        ("requests", "==2.32.3", "pinned", "main", 6),
        ("celery", "~=5.4", "ranged", "main", 7),
        ("mylib", "git https://github.com/o/mylib.git @ v2.0", "pinned", "main", 8),
        ("pytest", ">=8", "unbounded", "dev", 12),
    ]
    assert (report.requires_python, report.requires_python_location) == (
        "3.11", Location("Pipfile", 15))
    assert python_floor(report.requires_python) == (3, 11)
    assert report.lock_files == ("Pipfile.lock",)


def test_first_python_constraint_wins(tmp_path):
    report = read(tmp_path, {
        "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.12"\n',
        "setup.cfg": "[options]\npython_requires = >=3.8\n",
    })
    assert report.requires_python == ">=3.12"


# -- bad input -------------------------------------------------------------------------

def test_broken_files_become_notes(tmp_path):
    report = read(tmp_path, {
        "pyproject.toml": "[project\nname = 1\n",
        "Pipfile": b"\x00\x01\x02",
        "requirements.txt": "caf\xe9==1\n".encode("latin-1"),
        "sub/pyproject.toml": '[project]\ndependencies = "fastapi"\n'
                              '[project.optional-dependencies]\ndev = [3]\n',
        "sub/requirements-ci.txt": "-r missing.txt\n-r ../../outside.txt\n-r /etc/passwd\n",
    }, listed=["pyproject.toml", "Pipfile", "requirements.txt", "sub/pyproject.toml",
               "sub/requirements-ci.txt", "gone/requirements.txt"])
    assert report.dependencies == ()
    assert report.notes[0].startswith("pyproject.toml: not valid TOML (")
    assert report.notes[1:] == (
        "Pipfile: binary file; not read",
        "requirements.txt: not UTF-8 text; not read",
        "sub/pyproject.toml: main dependencies are not a list; not read",
        "sub/pyproject.toml: could not read requirement 3",
        "sub/missing.txt: could not be read (No such file or directory)",
        "sub/requirements-ci.txt: -r ../../outside.txt is outside the audited tree",
        "sub/requirements-ci.txt: -r /etc/passwd is outside the audited tree",
        "gone/requirements.txt: could not be read (No such file or directory)",
    )


def test_odd_shapes_do_not_raise(tmp_path):
    report = read(tmp_path, {"pyproject.toml": """
        project = 3
        [tool]
        poetry = "x"
        [dependency-groups]
        dev = "pytest"
    """})
    assert report.dependencies == ()
    assert report.notes == ("pyproject.toml: dev dependencies are not a list; not read",)


def test_empty_input(tmp_path):
    assert read_dependencies(tmp_path, []) == DependencyReport()


def test_dependency_is_a_frozen_record():
    dep = Dependency("x", "", "unbounded", "main", Location("requirements.txt", 1))
    with pytest.raises(AttributeError):
        dep.name = "y"  # type: ignore[misc]
