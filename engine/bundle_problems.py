"""What is wrong with a bundle: one :class:`Problem` per file and element, and the
:class:`InvalidBundle` error that lists them."""

from __future__ import annotations

from dataclasses import dataclass

from . import problem_texts
from .errors import InvalidBundle


@dataclass
class Problem:
    file: str
    element: str
    message: str

    @property
    def message_vi(self) -> str:
        return problem_texts.in_vietnamese(self.message)

    def as_dict(self) -> dict:
        return {"file": self.file, "element": self.element, "message": self.message,
                "message_vi": self.message_vi}

    def __str__(self) -> str:
        return f"{self.file}: {self.element or '-'}: {self.message}"


def invalid(problems: list[Problem]) -> InvalidBundle:
    lines = "; ".join(str(p) for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    lines_vi = "; ".join(f"{p.file}: {p.element or '-'}: {p.message_vi}" for p in problems[:5])
    more_vi = f" (và {len(problems) - 5} lỗi khác)" if len(problems) > 5 else ""
    return InvalidBundle(f"The procedure bundle is not valid: {lines}{more}",
                         vi=f"Gói thủ tục không hợp lệ: {lines_vi}{more_vi}",
                         details=[p.as_dict() for p in problems])
