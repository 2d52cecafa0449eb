"""The house's import rules, read from the source: a broken rule fails here, naming the import.

- A pure module imports neither Flask nor the models, nor any shop module that is not pure.
- Domain packages stand in a fixed order; each imports only the packages below it, never the web
  layer, the staff pages or the operators' commands.
- Nothing imports a view (a module that defines a Blueprint) but the app factory that registers it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Plain values in and out: no Flask, no database, no module that has either.
PURE = {
    "shop.money",
    "shop.units",
    "shop.privacy",
    "shop.clock",
    "shop.tables",
    "shop.errors",
    "shop.plain_text",
    "shop.ledger.chain",
    "shop.ledger.merkle",
    "shop.ledger.proof_checker",
    "shop.stock.allocation",
    "shop.selling.order_flow",
    "shop.villages.standing",
    "shop.oversight.monitoring",
    "shop.worklog.rules",
    "shop.worklog.whole_income",
    "shop.ledger.agreement",
}

#: Bottom to top: a domain package may import the ones before it, never the ones after.
DOMAINS = ["ledger", "villages", "stock", "catalog", "staff", "selling", "oversight", "worklog"]

#: Top-level modules every layer may use: the schema, the commit point, the audit trail, settings.
FOUNDATION = {
    "shop.models",
    "shop.extensions",
    "shop.config",
    "shop.transaction",
    "shop.audit",
    "shop.sealing",
    "shop.faults",
    "shop.wording",
}

#: The modules that register blueprints, and so may import views.
FACTORIES = {"shop", "admin"}

#: Libraries a pure module may not lean on.
IMPURE_LIBRARIES = ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "sqlalchemy", "werkzeug")


def modules() -> dict[str, Path]:
    """Every module of the app, by dotted name."""
    found = {}
    for path in [*ROOT.glob("shop/**/*.py"), *ROOT.glob("admin/**/*.py")]:
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def imports_of(name: str) -> list[tuple[int, str]]:
    """(line, module) for every import in the module, function-level ones included, relative ones resolved."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from shop.ledger import entries` imports the module shop.ledger.entries.
            found += [(node.lineno, f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base) for a in node.names]
    return found


def app_imports(name: str) -> list[tuple[int, str]]:
    """The imports that name the app's own modules."""
    return [(line, target) for line, target in imports_of(name) if target.split(".")[0] in ("shop", "admin")]


def is_view(name: str) -> bool:
    """A view module defines a Blueprint."""
    return "Blueprint(" in MODULES[name].read_text(encoding="utf-8")


def domain_of(name: str) -> str | None:
    """The domain package a module belongs to, if any."""
    parts = name.split(".")
    return parts[1] if parts[0] == "shop" and len(parts) > 2 and parts[1] in DOMAINS else None


def layer_fault(importer: str, target: str) -> str | None:
    """Why importing `target` from `importer` breaks a rule, or None."""
    if target in PURE or target in ("shop", "admin") or target.startswith("shop.pdf"):
        return None if importer not in PURE or target in PURE else "a pure module imports only pure modules"
    if importer in PURE:
        return "a pure module imports only pure modules"
    if is_view_target(target) and importer not in FACTORIES:
        return "only the app factory imports a view"
    if importer in FOUNDATION and target not in FOUNDATION:
        return "the foundation imports no domain, web or ops module"
    mine, theirs = domain_of(importer), domain_of(target)
    if mine:
        if target.startswith(("shop.web", "shop.ops", "admin")):
            return "a domain never imports the web layer, the staff pages or the commands"
        if theirs and DOMAINS.index(theirs) > DOMAINS.index(mine):
            return f"{mine} sits below {theirs}"
    if importer.startswith("shop.web") and target.startswith(("admin", "shop.ops")):
        return "the web layer imports no staff page and no command"
    return None


def is_view_target(target: str) -> bool:
    """Whether the import names a view module."""
    return target in MODULES and is_view(target)


def faults() -> list[str]:
    """Every import in the app that breaks a rule, as 'module:line imports target (why)'."""
    found = []
    for name in sorted(MODULES):
        for line, target in app_imports(name):
            if target == name:
                continue
            if why := layer_fault(name, target):
                found.append(f"{name}:{line} imports {target} ({why})")
    return sorted(set(found))


def test_every_import_keeps_the_rules():
    assert faults() == []


@pytest.mark.parametrize("name", sorted(PURE))
def test_a_pure_module_leans_on_no_web_or_database_library(name):
    leaning = [f"{name}:{line} imports {t}" for line, t in imports_of(name) if t.split(".")[0] in IMPURE_LIBRARIES]
    assert leaning == []


def test_the_rules_catch_what_they_forbid():
    """The checker itself: each kind of fault is named, and an allowed import is not."""
    assert layer_fault("shop.money", "shop.models") == "a pure module imports only pure modules"
    assert layer_fault("shop.selling.sales", "shop.web.templating").startswith("a domain never imports")
    assert layer_fault("shop.ledger.entries", "shop.selling.sales") == "ledger sits below selling"
    assert layer_fault("admin.orders", "admin.counter") == "only the app factory imports a view"
    assert layer_fault("shop.web.api", "shop.web.checkout") == "only the app factory imports a view"
    assert layer_fault("shop.models", "shop.selling.sales") == "the foundation imports no domain, web or ops module"
    assert layer_fault("shop.selling.sales", "shop.ledger.entries") is None
    assert layer_fault("admin.orders", "shop.web.responses") is None
    assert layer_fault("shop", "admin.orders") is None


def test_every_top_level_module_is_declared_pure_or_foundation():
    """A new module beside models.py must say which it is, or it would slip between the rules."""
    top_level = {n for n, p in MODULES.items() if n.startswith("shop.") and n.count(".") == 1 and p.stem != "__init__"}
    assert top_level - PURE - FOUNDATION == set()


def test_every_declared_module_exists():
    """A renamed module must be renamed here too, or the rules would silently stop applying to it."""
    assert (PURE | FOUNDATION) - set(MODULES) == set()
