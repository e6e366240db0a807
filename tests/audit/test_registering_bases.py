"""A models module imported for its registrations stays: defining a class on SQLAlchemy's
`DeclarativeBase` (or on the result of `declarative_base()`, or on Flask-SQLAlchemy's
`db.Model`) files it in the mapper registry, where `relationship("Address")` finds it by
name. Found after the attack session: a package `models/__init__.py` importing every model
had its imports made lazy re-exports, and the first query raised "expression 'Address'
failed to locate a name". Run for real: SQLAlchemy, `hotstart fix --write`, the program."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import run_hotstart, write_tree

from ._helpers import audit_tree, site

BASE = """
    from sqlalchemy.orm import DeclarativeBase


    class Base(DeclarativeBase):
        pass
    """
SHOP = {
    "shop/__init__.py": "",
    "shop/models/__init__.py": """
        from shop.models.base import Base
        from shop.models.user import User
        from shop.models.address import Address

        __all__ = ["Base", "User"]
        """,
    "shop/models/base.py": BASE,
    "shop/models/user.py": """
        from sqlalchemy import Integer, String
        from sqlalchemy.orm import Mapped, mapped_column, relationship

        from shop.models.base import Base


        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            name: Mapped[str] = mapped_column(String)
            addresses = relationship("Address", back_populates="user")
        """,
    "shop/models/address.py": """
        from sqlalchemy import ForeignKey, Integer, String
        from sqlalchemy.orm import Mapped, mapped_column, relationship

        from shop.models.base import Base


        class Address(Base):
            __tablename__ = "addresses"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            email: Mapped[str] = mapped_column(String)
            user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
            user = relationship("User", back_populates="addresses")
        """,
    "shop/app.py": """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session

        from shop.models import Base, User


        def main():
            engine = create_engine("sqlite://")
            Base.metadata.create_all(engine)
            with Session(engine) as session:
                session.add(User(name="ann"))
                session.commit()
                print([u.name for u in session.query(User)], sorted(Base.metadata.tables))
        """,
    "main.py": "from shop.app import main\n\nmain()\n",
}


def run_main(root) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "main.py"], cwd=root, capture_output=True,
                          text=True, timeout=120)


def test_fix_keeps_the_models_a_relationship_finds_by_name(tmp_path):
    before = write_tree(tmp_path / "before", SHOP)
    expected = run_main(before)
    assert expected.returncode == 0, expected.stderr
    assert expected.stdout == "['ann'] ['addresses', 'users']\n"
    fixed = tmp_path / "fixed"
    shutil.copytree(before, fixed)
    done = run_hotstart("fix", "shop", "--write", "-q", "--select",
                        "dead,deferrable,typing-only", "--runtime", "stdlib", cwd=fixed)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "moved into main()" in done.stdout  # it did fix what it could
    after = run_main(fixed)
    assert (after.returncode, after.stdout) == (0, expected.stdout), after.stderr[-600:]


def test_each_way_of_getting_a_registering_base_is_an_effect(tmp_path):
    variants = {
        "DeclarativeBase": BASE,
        "declarative_base()": "from sqlalchemy.orm import declarative_base\n\n"
                              "Base = declarative_base()\n",
        "db.Model": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n"
                    "Base = db.Model\n",
    }
    for number, (how, base) in enumerate(variants.items()):
        files = {**SHOP, "shop/models/base.py": base}
        if how == "db.Model":  # `class Address(db.Model)`, as Flask-SQLAlchemy's docs write
            files["shop/models/address.py"] = files["shop/models/address.py"].replace(
                "from shop.models.base import Base", "from shop.models.base import db"
            ).replace("class Address(Base)", "class Address(db.Model)")
        report = audit_tree(tmp_path / str(number), files, "shop")
        found = site(report, "shop.models", "Address")
        assert found.klass == "side-effect", (how, found.reason)
        assert "mapper registry" in found.reason, (how, found.reason)


def test_a_base_built_by_any_other_call_is_no_effect(tmp_path):
    """hatch's `_PathBase = type(Path())`: a class built at import, which registers nothing
    (the table names the registering factories; other calls are not suspected)."""
    files = {
        "pkg/__init__.py": "from pkg.fs import Path\n\n__all__ = ['Path']\n",
        "pkg/fs.py": """
            import pathlib

            _PathBase = type(pathlib.Path())


            class Path(_PathBase):
                pass
            """,
        "pkg/cli.py": "from pkg.fs import Path\n\n\ndef main():\n    return Path('.')\n",
    }
    report = audit_tree(tmp_path, files, "pkg")
    assert site(report, "pkg.cli", "Path").klass == "deferrable"
