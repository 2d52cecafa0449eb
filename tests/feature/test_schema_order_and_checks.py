"""What alembic's comparison of models and database leaves out: column order and CHECK constraints.

test_schema.py compares types, keys and indexes; these two complete the proof that a
change to the models (such as sale and order lines sharing FrozenLine) left the schema as it was.
"""

import sqlalchemy as sa

from shop.extensions import db


def _tables():
    return [table for table in db.metadata.sorted_tables if table.name != "alembic_version"]


def test_the_line_tables_have_the_models_columns_in_their_order(app):
    """Later migrations add columns at the end (not where the models declare them); the line tables never had any."""
    lines = [db.metadata.tables["sale_line"], db.metadata.tables["order_line"]]
    with app.app_context():
        inspector = sa.inspect(db.engine)
        found = {t.name: [c["name"] for c in inspector.get_columns(t.name)] for t in lines}
    assert found == {t.name: [c.name for c in t.c] for t in lines}


def test_the_migrated_tables_have_the_models_check_constraints(app):
    with app.app_context():
        inspector = sa.inspect(db.engine)
        found = {t.name: sorted(ck["name"] for ck in inspector.get_check_constraints(t.name)) for t in _tables()}
    wanted = {
        t.name: sorted(str(ck.name) for ck in t.constraints if isinstance(ck, sa.CheckConstraint)) for t in _tables()
    }
    assert found == wanted


def test_sale_and_order_lines_share_their_frozen_columns():
    from shop.models import FrozenLine, OrderLine, SaleLine

    shared = ["id", "product_id", "product_name", "unit", "price_fen", "price_per", "quantity", "amount_fen"]
    for line in (SaleLine, OrderLine):
        assert issubclass(line, FrozenLine)
        assert [c.name for c in line.__table__.c if c.name in shared] == shared
    assert [c.name for c in SaleLine.__table__.c][:2] == ["id", "sale_id"]
    assert [c.name for c in OrderLine.__table__.c][:2] == ["id", "order_id"]
