"""LaTeX in titles and abstracts turned into readable Unicode text.

arXiv metadata is written in TeX: ``$\\alpha$-divergence``, ``$O(n^2)$``, ``Bal\\'azs``. Pages,
feeds and emails show it as "α-divergence", "O(n²)", "Balázs" without any JavaScript. Only
``$...$`` / ``\\(...\\)`` math segments and TeX accents are touched, so ordinary text with
a percent sign or a lone dollar amount stays as it is. Unknown macros lose their backslash.
"""

from __future__ import annotations

import re
import unicodedata

_SYMBOLS = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ",
    "upsilon": "υ", "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
    "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # relations and operators
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼",
    "simeq": "≃", "equiv": "≡", "propto": "∝", "ll": "≪", "gg": "≫", "times": "×", "cdot": "·", "pm": "±",
    "mp": "∓", "div": "÷", "circ": "∘", "otimes": "⊗", "oplus": "⊕", "in": "∈", "notin": "∉",
    "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "cup": "∪", "cap": "∩", "emptyset": "∅",
    "infty": "∞", "partial": "∂", "nabla": "∇", "sum": "∑", "prod": "∏", "int": "∫", "sqrt": "√",
    "forall": "∀", "exists": "∃", "neg": "¬", "wedge": "∧", "vee": "∨", "ell": "ℓ", "hbar": "ℏ",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "Leftarrow": "⇐",
    "leftrightarrow": "↔", "mapsto": "↦", "uparrow": "↑", "downarrow": "↓", "dots": "…", "ldots": "…",
    "cdots": "⋯", "star": "⋆", "ast": "∗", "langle": "⟨", "rangle": "⟩", "mid": "|", "log": "log",
    "exp": "exp", "sin": "sin", "cos": "cos", "max": "max", "min": "min", "arg": "arg", "lim": "lim",
    "quad": " ", "qquad": "  ", ",": " ", ";": " ", "!": "", " ": " ", "%": "%", "&": "&", "$": "$",
    "#": "#", "_": "_", "{": "{", "}": "}",
}  # fmt: skip
_FONTS = {
    "mathbb": {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ"},
    "mathcal": {"O": "𝒪", "L": "ℒ", "N": "𝒩", "H": "ℋ", "F": "ℱ"},
}
_SUPERSCRIPT = str.maketrans("0123456789+-=()abcdefghijklmnoprstuvwxyzT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀ")
_SUBSCRIPT = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    '"': "\u0308",
    "^": "\u0302",
    "~": "\u0303",
    "c": "\u0327",
    "v": "\u030c",
    "H": "\u030b",
}

_MATH = re.compile(r"(?<!\\)\$\$?(?P<a>[^$]+?)(?<!\\)\$\$?|\\\((?P<b>.+?)\\\)")
_ACCENT = re.compile(r"\{?\\(?P<mark>['`\"^~]|[cvH](?=[\s{]))\s*\{?(?P<letter>[A-Za-z])\}?\}?")
_FONT = re.compile(
    r"\\(?P<font>mathbb|mathcal|mathrm|mathbf|mathit|text|textbf|textit|operatorname)\{(?P<body>[^{}]*)\}"
)
_SCRIPT = re.compile(r"(?P<kind>[\^_])(?:\{(?P<group>[^{}]*)\}|(?P<single>\\?[A-Za-z0-9+\-]))")
_MACRO = re.compile(r"\\(?P<name>[A-Za-z]+|[,;! %&$#_{}])")


def _font(match: re.Match[str]) -> str:
    body = match.group("body")
    table = _FONTS.get(match.group("font"))
    return "".join(table.get(ch, ch) for ch in body) if table else body


def _script(match: re.Match[str]) -> str:
    body = match.group("group") if match.group("group") is not None else match.group("single")
    body = _replace_macros(body)
    table = _SUPERSCRIPT if match.group("kind") == "^" else _SUBSCRIPT
    converted = body.translate(table)
    if all(ch not in converted for ch in body if ch.isalnum() or ch in "+-=()"):
        return converted
    return f"{match.group('kind')}({body})" if len(body) > 1 else f"{match.group('kind')}{body}"


def _replace_macros(text: str) -> str:
    return _MACRO.sub(lambda m: _SYMBOLS.get(m.group("name"), m.group("name")), text)


def _math(match: re.Match[str]) -> str:
    body = match.group("a") if match.group("a") is not None else match.group("b")
    body = _FONT.sub(_font, body)
    body = _SCRIPT.sub(_script, body)
    body = _replace_macros(body)
    body = body.replace("{", "").replace("}", "").replace("~", " ")
    return re.sub(r"\s+", " ", body).strip()


def _accent(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFC", match.group("letter") + _ACCENTS[match.group("mark")])


def render_tex(text: str) -> str:
    """Readable Unicode for a title, abstract or author name written with TeX markup."""
    if "\\" not in text and "$" not in text and "``" not in text:
        return text
    result = _MATH.sub(_math, text)
    result = _ACCENT.sub(_accent, result)
    return result.replace("``", "“").replace("''", "”")
