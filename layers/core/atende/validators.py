"""Brazilian identifier check digits (CPF, CNPJ numeric and alphanumeric).

The alphanumeric CNPJ (Receita Federal, issued since July 2026) keeps the
numeric algorithm: each character counts as ``ord(char) - 48``, so digits keep
their value and letters A..Z count 17..42. The two check digits stay numeric.
"""

from __future__ import annotations

import re

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")
_CNPJ_SHAPE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")


def only_digits(value: str) -> str:
    """The digits of ``value`` in order."""
    return "".join(ch for ch in value if ch.isdigit())


def _mod11_digit(values: list[int], weights: list[int]) -> int:
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def is_valid_cpf(value: str) -> bool:
    """True for an 11-digit CPF whose check digits match (formatting ignored)."""
    digits = only_digits(value)
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    nums = [int(d) for d in digits]
    first = _mod11_digit(nums[:9], list(range(10, 1, -1)))
    second = _mod11_digit(nums[:10], list(range(11, 1, -1)))
    return nums[9] == first and nums[10] == second


def normalize_cnpj(value: str) -> str:
    """Upper-case CNPJ without punctuation.

    ``12.ABC.345/01DE-35`` becomes ``12ABC34501DE35``.
    """
    return _NON_ALNUM.sub("", value).upper()


def is_valid_cnpj(value: str) -> bool:
    """True for a numeric or alphanumeric CNPJ whose check digits match."""
    cnpj = normalize_cnpj(value)
    if not _CNPJ_SHAPE.fullmatch(cnpj) or len(set(cnpj)) == 1:
        return False
    nums = [ord(ch) - 48 for ch in cnpj]
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    first = _mod11_digit(nums[:12], weights)
    second = _mod11_digit(nums[:13], [6, *weights])
    return nums[12] == first and nums[13] == second


def mask_cpf(cpf: str) -> str:
    """``***.***.***-25``: enough to tell two CPFs apart, not to use one."""
    return f"***.***.***-{only_digits(cpf)[-2:]}"
