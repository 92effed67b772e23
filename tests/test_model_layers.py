"""Layers from folder names, package roots, and [tool.prodaudit.layers]."""

from __future__ import annotations

from pathlib import Path

from prodaudit.model.layers import DATA, PRESENTATION, SERVICE, LayerRules, read_layer_rules


def test_folder_names_deepest_wins() -> None:
    rules = LayerRules((), "")
    assert rules.layer_of("app/routers/books.py") == PRESENTATION
    assert rules.layer_of("app/api/services/billing.py") == SERVICE
    assert rules.layer_of("app/crud.py") == DATA  # the file's own name counts
    assert rules.layer_of("app/use_cases/favorites/add.py") == SERVICE
    assert rules.layer_of("app/utils/text.py") == ""


def test_application_package_root_is_not_a_service_layer() -> None:
    paths = ["application/routers/a.py", "application/crud/b.py", "application/utils.py",
             "app/application/auth.py", "app/routers/x.py"]
    rules = LayerRules((), "").with_package_roots(paths)
    assert rules.layer_of("application/utils.py") == ""
    assert rules.layer_of("application/crud/b.py") == DATA
    assert rules.layer_of("app/application/auth.py") == SERVICE


def test_declared_layers_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.prodaudit.layers]\npresentation = ["web"]\nservice = ["shop/logic/*"]\ndata = "storage"\n')
    rules = read_layer_rules(tmp_path)
    assert rules.source == "pyproject.toml [layers]"
    assert rules.layer_of("shop/web/books.py") == PRESENTATION
    assert rules.layer_of("shop/logic/checkout.py") == SERVICE
    assert rules.layer_of("shop/storage/books.py") == DATA
    # Layers not declared keep their default folder names.
    assert read_layer_rules(tmp_path).layer_of("shop/web/services/x.py") == PRESENTATION


def test_prodaudit_toml_wins_and_broken_toml_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.prodaudit.layers]\ndata = ["storage"]\n')
    (tmp_path / "prodaudit.toml").write_text('[layers]\ndata = ["dal2"]\n')
    assert read_layer_rules(tmp_path).layer_of("x/dal2/a.py") == DATA
    (tmp_path / "prodaudit.toml").write_text("[layers\n")
    assert read_layer_rules(tmp_path).declared == ()
