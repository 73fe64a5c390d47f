"""Exact money: ``Decimal`` from parsing to JSON output, with an ISO 4217 currency.

Sums of many amounts use :data:`CONTEXT`, whose precision is far above the 28 digits of the
default context (which silently rounds sums of real billing exports with 16+ fractional digits):
160 digits cover the whole span :func:`parse_amount` accepts (magnitudes 1E-60 to 1E+37 with 38
significant digits, so exponents down to -97) with room for the carries of 10^20 terms, so every
sum of accepted amounts is exact.
"""

from __future__ import annotations

import decimal
import json
from decimal import Decimal
from typing import Any, Iterable

CONTEXT = decimal.Context(prec=160, rounding=decimal.ROUND_HALF_EVEN, Emax=999999, Emin=-999999,
                          traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero])
ZERO = Decimal(0)

# Active ISO 4217 codes (list of 2024-06; data, not prices).
ISO_CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN
BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF
KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI
UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL
""".split())

MAX_DIGITS = 38  # DynamoDB numbers carry 38 significant digits; we store amounts as strings anyway


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def parse_amount(value: Any) -> Decimal:
    """Parse an amount exactly from a string, int or Decimal. Floats are refused.

    >>> fmt(parse_amount("0.0000000001"))
    '0.0000000001'
    >>> parse_amount(" 9.24E-6 ")
    Decimal('0.00000924')
    """
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool) or value is None:
        raise MoneyError("expected a decimal number")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        s = value.strip()
        if not s or len(s) > 64:
            raise MoneyError("expected a decimal number" if not s else "number too long")
        try:
            d = Decimal(s)
        except decimal.InvalidOperation:
            raise MoneyError(f"not a decimal number: {s[:40]!r}") from None
    elif isinstance(value, float):
        raise MoneyError("floats are not accepted for amounts; send a string or a JSON number")
    else:
        raise MoneyError("expected a decimal number")
    if not d.is_finite():
        raise MoneyError("NaN and Infinity are not amounts")
    if d == 0:
        return ZERO if d.as_tuple().exponent >= 0 else d.copy_abs()
    if not -60 <= d.adjusted() <= MAX_DIGITS - 1:
        raise MoneyError("amount out of range (magnitude 1E-60 to 1E+37)")
    t = d.as_tuple()
    if t.exponent > 0:  # 1E+3 -> 1000
        d = d.quantize(Decimal(1), context=CONTEXT)
        t = d.as_tuple()
    if len(t.digits) > MAX_DIGITS or t.exponent < -(MAX_DIGITS + 60):
        raise MoneyError(f"more than {MAX_DIGITS} significant digits")
    return d


def parse_currency(value: Any) -> str:
    if not isinstance(value, str) or value.strip().upper() not in ISO_CURRENCIES:
        raise MoneyError(f"unknown ISO 4217 currency: {str(value)[:16]!r}")
    return value.strip().upper()


def fmt(d: Decimal) -> str:
    """Plain notation, never an exponent: ``fmt(Decimal('1E-10')) == '0.0000000001'``."""
    return format(d, "f")


def dsum(values: Iterable[Decimal]) -> Decimal:
    """Exact sum with :data:`CONTEXT` (no silent rounding at 28 digits)."""
    total = ZERO
    add = CONTEXT.add
    for v in values:
        total = add(total, v)
    return total


def add(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.add(a, b)


def mul(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.multiply(a, b)


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return fmt(o)
    if hasattr(o, "isoformat"):
        return o.isoformat().replace("+00:00", "Z")
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(obj: Any, **kw: Any) -> str:
    """JSON with Decimals as strings (``"12.345678"``) and datetimes as ISO 8601 UTC."""
    kw.setdefault("separators", (",", ":"))
    return json.dumps(obj, default=_default, ensure_ascii=False, **kw)


def _reject_constant(name: str) -> Any:
    raise MoneyError(f"{name} is not valid JSON for CloudTally")


def loads(text: str | bytes) -> Any:
    """Parse JSON keeping numbers exact (``Decimal``) and refusing NaN/Infinity."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
