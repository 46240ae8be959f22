"""TeX in titles and abstracts becomes readable Unicode; ordinary text is left alone."""

from __future__ import annotations

import pytest

from papertide.domain.latex import render_tex


@pytest.mark.parametrize(
    ("tex", "readable"),
    [
        (r"Learning $O(n^2)$ dynamics", "Learning O(n²) dynamics"),
        (r"$\alpha$-divergence in $\mathbb{R}^d$", "α-divergence in ℝᵈ"),
        (r"The $\ell_1$-norm and $x_{t+1} = f(x_t)$", "The ℓ₁-norm and xₜ₊₁ = f(xₜ)"),
        (r"$\mathcal{O}(\log n)$ time, $10^{-3}$ error", "𝒪(log n) time, 10⁻³ error"),
        (r"$\sim 5\times$ faster", "∼ 5× faster"),
        (r"\(\beta\)-VAE", "β-VAE"),
        (r"C. Bal\'azs and G\"odel", "C. Balázs and Gödel"),
        (r"Erd{\H o}s and Fran{\c c}ois", "Erdős and François"),
        (r"``quoted'' text", "“quoted” text"),
        ("50% of $100 costs", "50% of $100 costs"),
        ("Plain title without markup", "Plain title without markup"),
        (r"$\mathrm{softmax}(QK^T)$", "softmax(QKᵀ)"),
    ],
)
def test_tex_renders_readably(tex: str, readable: str) -> None:
    assert render_tex(tex) == readable
