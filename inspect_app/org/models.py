from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class UnitLevel(StrEnum):
    province = "province"
    city = "city"
    county = "county"


LEVEL_ORDER = [UnitLevel.province, UnitLevel.city, UnitLevel.county]


def units_on(path: str) -> list[int]:
    """The unit ids of a unit's path (``/1/13/130/``): the unit and every unit above it, top first."""
    return [int(part) for part in path.strip("/").split("/") if part]


class Unit(SQLModel, table=True):
    """An organisational unit (省/市/县区). ``path`` is the materialised path ``/1/4/12/`` so a
    whole subtree is one indexed prefix match."""

    __tablename__ = "unit"
    #: a unit's path by its id from the index alone (an outlet's unit's path, per row of a few
    #: thousand: the open complaints of the nation's board, 9 → 3 µs each with the outlet's below)
    __table_args__ = (sa.Index("ix_unit_id_path", "id", "path"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=100)
    level: UnitLevel = Field(sa_type=sa.String(16))
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    path: str = Field(default="", max_length=255, index=True)
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Outlet(SQLModel, table=True):
    """A postal or express-delivery outlet (营业网点)."""

    __tablename__ = "outlet"
    #: an outlet's unit by its id from the index alone (the table's rows are wide: name, address)
    __table_args__ = (sa.Index("ix_outlet_id_unit", "id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=120)
    address: str = Field(default="", max_length=255)
    lat: float | None = None
    lon: float | None = None
    unit_id: int = Field(foreign_key="unit.id", index=True)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Window(SQLModel, table=True):
    """A service window / counter (窗口) of an outlet."""

    __tablename__ = "window"
    __table_args__ = (sa.UniqueConstraint("outlet_id", "number", name="uq_window_outlet_number"),)

    id: int | None = Field(default=None, primary_key=True)
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    number: str = Field(max_length=16)
    name: str = Field(default="", max_length=60)
    active: bool = True


class OutletBlackout(SQLModel, table=True):
    """Days no secret visit may be planned at an outlet (stocktaking, renovation, holidays)."""

    __tablename__ = "outlet_blackout"

    id: int | None = Field(default=None, primary_key=True)
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    date_from: dt.date
    date_until: dt.date
    reason: str = Field(default="", max_length=200)
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class StaffMember(SQLModel, table=True):
    """A person who works at an outlet (营业员, 投递员, 大堂经理): in the register, not an account.
    Findings, complaints, accountability records and commendations name them by job number."""

    __tablename__ = "staff_member"

    id: int | None = Field(default=None, primary_key=True)
    #: 工号, unique across the network (the re-import matches on it).
    job_number: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=64)
    post: str = Field(default="", max_length=32)
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
