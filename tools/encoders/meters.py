"""Notification bodies of binary meters, byte for byte as each make sends
them, built from canonical values.

values: {field: Decimal} with the field names and units of
lib/hanport/fields.py (power_import_w, current_l1_a, voltage_l1_v,
energy_import_kwh, reactive_energy_export_kvarh, ...). Each list is a
table of rows (OBIS, field, A-XDR encoder, scaler): the wire integer is
the canonical value in the base unit (W, var, Wh, varh, A, V) divided by
10**scaler, and must come out whole (ValueError otherwise, never rounded).
Rows for meter_id, meter_type, list_id, clock take the function's
arguments instead; a clock is a datetime (encoded with deviation and
clock_status, see axdr.date_time) or 12 ready bytes.

Makes (Norway unless said otherwise):
- Aidon (AIDON_V0001): array of structures {OBIS, value[, {scaler, unit}]}.
- Kaifa (KFM_001): structure of values only, by position.
- Kamstrup (Kamstrup_V0001): structure of the list id then flat OBIS, value
  pairs, no scalers on the wire; 1-phase meters send null pairs for L2/L3.
- Swedish variants: Aidon RJ12 list, Kaifa with OBIS pairs, Kamstrup with
  energies in Wh; Austrian Kaifa MA309 (Netz NÖ / EVN, sent encrypted).

push() wraps a body in the data-notification and HDLC frame of its make.
"""
from collections import namedtuple
from decimal import Decimal

from . import axdr, dlms, hdlc

Row = namedtuple("Row", "obis field encode scaler")

DLU = axdr.double_long_unsigned


def octets(text) -> bytes:
    """Text sent as octet-string (Kaifa sends its strings that way)."""
    return axdr.octet_string(text.encode("ascii") if isinstance(text, str) else text)


# Canonical unit suffix -> (power of ten from canonical to the wire's base
# unit, unit enum of a Register's scaler_unit)
_WIRE = {
    "w": (0, axdr.UNIT["W"]),
    "var": (0, axdr.UNIT["var"]),
    "kwh": (3, axdr.UNIT["Wh"]),
    "kvarh": (3, axdr.UNIT["varh"]),
    "a": (0, axdr.UNIT["A"]),
    "v": (0, axdr.UNIT["V"]),
    "factor": (0, axdr.UNIT[""]),
}


def _suffix(field):
    return field.rpartition("_")[2]


def _phase(field) -> int:
    """1, 2 or 3 for a per-phase field, 0 otherwise."""
    for p in (1, 2, 3):
        if "_l%d_" % p in field + "_":
            return p
    return 0


def _raw(field, value, scaler) -> int:
    shift, _ = _WIRE[_suffix(field)]
    wire = Decimal(value).scaleb(shift - scaler)
    if wire != wire.to_integral_value():
        raise ValueError("%s=%s is not a whole number of 10^%d on the wire"
                         % (field, value, scaler))
    return int(wire)


def _value(row, values, given) -> bytes:
    """The encoded value of a row: from `given` (ids, clock) or values."""
    if row.field in given:
        if given[row.field] is None:
            raise ValueError("this list needs %s" % row.field)
        return row.encode(given[row.field])
    return row.encode(_raw(row.field, values[row.field], row.scaler))


def _obis(row) -> bytes:
    return axdr.octet_string(axdr.obis(*row.obis))


def _register(row, values, given) -> list:
    """[OBIS, value] for Data objects, [OBIS, value, {scaler, unit}] for
    Registers (rows with a scaler)."""
    out = [_obis(row), _value(row, values, given)]
    if row.scaler is not None:
        out.append(axdr.scaler_unit(row.scaler, _WIRE[_suffix(row.field)][1]))
    return out


def _clock(clock, deviation, status, **style):
    """12 date-time bytes from a datetime (style: axdr.date_time's
    hundredths/sunday conventions of the make), or given bytes as they are."""
    if clock is None or isinstance(clock, (bytes, bytearray)):
        return clock
    return axdr.date_time(clock, deviation, status, **style)


def _energy_scaler(rows, scaler):
    """rows with the scaler of their energy registers replaced (countries
    differ: Norway sends 10 Wh units, Sweden Wh)."""
    return tuple(r._replace(scaler=scaler) if _suffix(r.field) in ("kwh", "kvarh") else r
                 for r in rows)


def _rows(obis_cd, fields, encode, scaler, a=1, b=0):
    """Rows of one wire type and scaler: OBIS a.b.C.D.0.255, (C, D) per field."""
    return tuple(Row((a, b, c, d, 0), f, encode, scaler) for (c, d), f in zip(obis_cd, fields))


POWER_FIELDS = ("power_import_w", "power_export_w",
                "reactive_power_import_var", "reactive_power_export_var")
POWER_CD = ((1, 7), (2, 7), (3, 7), (4, 7))
CURRENT_FIELDS = ("current_l1_a", "current_l2_a", "current_l3_a")
CURRENT_CD = ((31, 7), (51, 7), (71, 7))
VOLTAGE_FIELDS = ("voltage_l1_v", "voltage_l2_v", "voltage_l3_v")
VOLTAGE_CD = ((32, 7), (52, 7), (72, 7))
ENERGY_FIELDS = ("energy_import_kwh", "energy_export_kwh",
                 "reactive_energy_import_kvarh", "reactive_energy_export_kvarh")
ENERGY_CD = ((1, 8), (2, 8), (3, 8), (4, 8))
# Swedish per-phase powers: P+, P-, Q+, Q- of L1, then L2, then L3
PHASE_POWER_FIELDS = tuple("%s_l%d_%s" % (name, p, unit)
                           for p in (1, 2, 3)
                           for name, unit in (("power_import", "w"), ("power_export", "w"),
                                              ("reactive_power_import", "var"),
                                              ("reactive_power_export", "var")))
PHASE_POWER_CD = tuple((c, 7) for base in (21, 41, 61) for c in range(base, base + 4))

# --- Aidon ------------------------------------------------------------------

AIDON_IDS = (
    Row((1, 1, 0, 2, 129), "list_id", axdr.visible_string, None),
    Row((0, 0, 96, 1, 0), "meter_id", axdr.visible_string, None),
    Row((0, 0, 96, 1, 7), "meter_type", axdr.visible_string, None),
)
AIDON_CLOCK = (Row((0, 0, 1, 0, 0), "clock", axdr.octet_string, None),)
AIDON_POWERS = _rows(POWER_CD, POWER_FIELDS, DLU, 0)
AIDON_INSTANT = (AIDON_POWERS
                 + _rows(CURRENT_CD, CURRENT_FIELDS, axdr.long, -1)  # signed: export
                 + _rows(VOLTAGE_CD, VOLTAGE_FIELDS, axdr.long_unsigned, -1))
AIDON_ENERGIES = _rows(ENERGY_CD, ENERGY_FIELDS, DLU, 1)  # 10 Wh units
AIDON_LISTS = {
    1: AIDON_POWERS[:1],
    2: AIDON_IDS + AIDON_INSTANT,
    3: AIDON_IDS + AIDON_INSTANT + AIDON_CLOCK + AIDON_ENERGIES,
}
# Swedish RJ12 list (27 items at 3 phases): no ids, clock first, energies in Wh
AIDON_SE = (AIDON_CLOCK + AIDON_INSTANT
            + _rows(PHASE_POWER_CD, PHASE_POWER_FIELDS, DLU, 0)
            + _energy_scaler(AIDON_ENERGIES, 0))
AIDON_6525_OMIT = ("current_l2_a",)  # 3-wire IT meter: no L2 current object
# Day of week a Norwegian Aidon 6534 sent on a Sunday (ISO says 7); no
# Swedish capture falls on a Sunday, so aidon_se keeps ISO.
AIDON_SUNDAY = 0


def _aidon_items(rows, phases, values, given, omit=()) -> bytes:
    return axdr.array(axdr.structure(_register(r, values, given))
                      for r in rows
                      if _phase(r.field) <= phases and r.field not in omit)


def aidon(list_no, phases, values, meter_id=None, meter_type=None, clock=None,
          deviation=None, clock_status=0x00, omit=()) -> bytes:
    """Aidon list 1 (P+), 2 (ids, P, Q, I, U) or 3 (+ clock, energies).
    omit: fields the meter variant lacks (AIDON_6525_OMIT)."""
    given = {"list_id": "AIDON_V0001", "meter_id": meter_id, "meter_type": meter_type,
             "clock": _clock(clock, deviation, clock_status, sunday=AIDON_SUNDAY)}
    return _aidon_items(AIDON_LISTS[list_no], phases, values, given, omit)


def aidon_6525(list_no, values, **kw) -> bytes:
    """Aidon 6525, 3-phase IT: the 3-phase lists without L2 current."""
    return aidon(list_no, 3, values, omit=AIDON_6525_OMIT, **kw)


def aidon_se(values, clock, phases=3, deviation=None, clock_status=0xFF) -> bytes:
    """Swedish Aidon RJ12 HAN list: clock, P/Q totals, I, U, per-phase P/Q,
    energies (Wh). The capture's clock status is 0xFF (not specified)."""
    given = {"clock": _clock(clock, deviation, clock_status)}
    return _aidon_items(AIDON_SE, phases, values, given)


# --- Kaifa ------------------------------------------------------------------

# OBIS codes are sent only by the Swedish variant (whose list id object is
# 1.0.0.2.129.255, B=0); the Norwegian list is the same table by position.
KAIFA_IDS = (
    Row((1, 0, 0, 2, 129), "list_id", octets, None),
    Row((0, 0, 96, 1, 0), "meter_id", octets, None),
    Row((0, 0, 96, 1, 7), "meter_type", octets, None),
)
KAIFA_CLOCK = (Row((0, 0, 1, 0, 0), "clock", axdr.octet_string, None),)
KAIFA_POWERS = _rows(POWER_CD, POWER_FIELDS, DLU, 0)
KAIFA_INSTANT = (KAIFA_POWERS
                 + _rows(CURRENT_CD, CURRENT_FIELDS, DLU, -3)  # mA
                 + _rows(VOLTAGE_CD, VOLTAGE_FIELDS, DLU, -1))  # 0.1 V
KAIFA_ENERGIES = _rows(ENERGY_CD, ENERGY_FIELDS, DLU, 0)  # Wh
KAIFA_LISTS = {
    1: KAIFA_POWERS[:1],
    2: KAIFA_IDS + KAIFA_INSTANT,
    3: KAIFA_IDS + KAIFA_INSTANT + KAIFA_CLOCK + KAIFA_ENERGIES,
}


def _kaifa_given(meter_id, meter_type, clock, deviation, clock_status):
    return {"list_id": "KFM_001", "meter_id": meter_id, "meter_type": meter_type,
            "clock": _clock(clock, deviation, clock_status)}


def _present(rows, phases):
    return [r for r in rows if _phase(r.field) <= phases]


def kaifa(list_no, phases, values, meter_id=None, meter_type=None, clock=None,
          deviation=None, clock_status=0x00) -> bytes:
    """Kaifa list 1 (P+), 2 or 3 as a structure of values: 1, 13/18 items
    at 3 phases, 9/14 at 1 phase."""
    given = _kaifa_given(meter_id, meter_type, clock, deviation, clock_status)
    return axdr.structure(_value(r, values, given)
                          for r in _present(KAIFA_LISTS[list_no], phases))


def kaifa_se_obis(list_no, phases, values, meter_id=None, meter_type=None,
                  clock=None, deviation=None, clock_status=0x00) -> bytes:
    """Swedish Kaifa (MA304H4): the same lists as one flat structure
    alternating OBIS octet-string and value (36 items for list 3)."""
    given = _kaifa_given(meter_id, meter_type, clock, deviation, clock_status)
    items = []
    for r in _present(KAIFA_LISTS[list_no], phases):
        items += [_obis(r), _value(r, values, given)]
    return axdr.structure(items)


# Austrian Kaifa MA309 (Netz NÖ / EVN): clock and meter number without OBIS,
# registers as flat OBIS, value, {scaler, unit} triples.
KAIFA_AT_EVN = (
    (Row(None, "clock", axdr.octet_string, None),)
    + _rows(ENERGY_CD[:2], ENERGY_FIELDS[:2], DLU, 0)
    + _rows(POWER_CD[:2], POWER_FIELDS[:2], DLU, 0)
    + _rows(VOLTAGE_CD, VOLTAGE_FIELDS, axdr.long_unsigned, -1)
    + _rows(CURRENT_CD, CURRENT_FIELDS, axdr.long_unsigned, -2)
    + (Row((1, 0, 13, 7, 0), "power_factor", axdr.long_unsigned, -3),
       Row(None, "meter_number", octets, None))
)


def kaifa_at_evn(values, clock, meter_number, deviation=None, clock_status=0x00) -> bytes:
    """The Netz NÖ / EVN Kaifa MA309 list (35 items), before ciphering.
    Its clock sends hundredths as 00, not 0xFF."""
    given = {"clock": _clock(clock, deviation, clock_status, hundredths=0),
             "meter_number": meter_number}
    items = []
    for r in KAIFA_AT_EVN:
        items += _register(r, values, given) if r.obis else [_value(r, values, given)]
    return axdr.structure(items)


# --- Kamstrup ---------------------------------------------------------------

KAMSTRUP_IDS = (
    Row((1, 1, 0, 0, 5), "meter_id", axdr.visible_string, None),
    Row((1, 1, 96, 1, 1), "meter_type", axdr.visible_string, None),
)
KAMSTRUP_CLOCK = (Row((0, 1, 1, 0, 0), "clock", axdr.octet_string, None),)
KAMSTRUP_LISTS = {
    1: (KAMSTRUP_IDS
        + _rows(POWER_CD, POWER_FIELDS, DLU, 0, b=1)
        + _rows(CURRENT_CD, CURRENT_FIELDS, DLU, -2, b=1)  # 0.01 A
        + _rows(VOLTAGE_CD, VOLTAGE_FIELDS, axdr.long_unsigned, 0, b=1)),
}
KAMSTRUP_LISTS[2] = (KAMSTRUP_LISTS[1] + KAMSTRUP_CLOCK
                     + _rows(ENERGY_CD, ENERGY_FIELDS, DLU, 1, b=1))  # 10 Wh


def kamstrup(list_no, phases, values, meter_id=None, meter_type=None, clock=None,
             deviation=None, clock_status=0x00, energy_scaler=1) -> bytes:
    """Kamstrup list 1 (25 items) or 2 (35 items). A 1-phase meter keeps
    the count, sending null OBIS and value for L2/L3. energy_scaler=0 for
    Swedish meters, whose energies are in Wh."""
    given = {"meter_id": meter_id, "meter_type": meter_type,
             "clock": _clock(clock, deviation, clock_status)}
    items = [axdr.visible_string("Kamstrup_V0001")]
    for r in _energy_scaler(KAMSTRUP_LISTS[list_no], energy_scaler):
        if _phase(r.field) > phases:
            items += [axdr.null(), axdr.null()]
        else:
            items += [_obis(r), _value(r, values, given)]
    return axdr.structure(items)


# --- Framing ------------------------------------------------------------------

_KAIFA = dict(invoke_id=b"\x40\x00\x00\x00", dt_form="tagged",
              dst=b"\x01", src=b"\x02\x01", control=0x10)
# Per make: data-notification invoke id and date-time form, HDLC addresses
# and control field, as the captures show them.
HEADER = {
    "aidon": dict(invoke_id=b"\x40\x00\x00\x00", dt_form="none",
                  dst=b"\x41", src=b"\x08\x83", control=0x13),
    "kaifa": _KAIFA,
    "kaifa_se": dict(_KAIFA, src=b"\x00\x01"),
    "kaifa_se_obis": dict(_KAIFA, src=b"\x00\x01", dt_form="none"),
    # dt_form was "tagged" before 2018
    "kamstrup": dict(invoke_id=b"\x00\x00\x00\x00", dt_form="bare",
                     dst=b"\x2B", src=b"\x21", control=0x13),
}


def notification(make, body, when=None, deviation=None, clock_status=0x00, **overrides) -> bytes:
    """The data-notification APDU that push() frames, alone: for callers
    that wrap it another way (HDLC segments, block transfer, M-Bus,
    ciphering)."""
    h = dict(HEADER[make], **overrides)
    return dlms.data_notification(body, h["invoke_id"],
                                  _clock(when, deviation, clock_status), h["dt_form"])


def push(make, body, when=None, deviation=None, clock_status=0x00, **overrides) -> bytes:
    """body in the data-notification and HDLC frame `make` sends (a HEADER
    key); when: the notification's date-time (a datetime or 12 bytes).
    overrides: any HEADER entry (dt_form, src, ...)."""
    h = dict(HEADER[make], **overrides)
    apdu = notification(make, body, when, deviation, clock_status, **overrides)
    return hdlc.frame(hdlc.llc(apdu), h["dst"], h["src"], h["control"])
