"""Which sufficient statistics a dataset's closed forms get (config `closed_form.method`), decided per dataset.

The alignment sweep (Fig. 2) works from either X^T X (D x D) or the Gram matrix X X^T (N x N). The denoising
solve of Theorem 3 (Figs. 7 and 11, the noise check and Fig. 10's theory) needs X^T X itself: its noise second
moment is a D x D matrix, masking mixes pixels, and the Gram matrix does not determine it. So with method `auto`
a dataset's statistics are the covariance when N >= D, or when one of those reads them (on a small
dataset N < D the D x D covariance is still cheap: 32x32x3 gives 3072 x 3072, 75 MB), and the Gram matrix
otherwise. An explicit `gram` that a consumer cannot use stops the planning with one sentence. No torch: the
workflow plans with it.
"""

from __future__ import annotations

from lbr.errors import LbrError

METHODS = ("auto", "covariance", "gram")
COVARIANCE_CONSUMERS = ("fig7", "noise_check", "fig10", "fig11")  # config sections whose jobs solve Theorem 3
FIXED_PREPROCESSING = {"fig10": "standardize"}  # Fig. 10's theory reads the pixels its trainer's noise lives on


def covariance_consumers(config: dict, dataset: str, preprocessing: str) -> list[str]:
    """The config sections that read the statistics of (dataset, preprocessing) and need X^T X; raise when
    closed_form.method is gram and there are any."""
    found = [
        section
        for section in COVARIANCE_CONSUMERS
        if dataset in config[section]["datasets"]
        and config[section].get("preprocessing", FIXED_PREPROCESSING.get(section)) == preprocessing
    ]
    if found and config["closed_form"]["method"] == "gram":
        raise LbrError(
            f"closed_form.method is gram, but {' and '.join(found)} read the statistics of {dataset} "
            f"({preprocessing} pixels) and solve Theorem 3, which needs the D x D covariance; set closed_form.method "
            "to auto (the covariance for the datasets that need it, the Gram matrix otherwise) or to covariance."
        )
    return found


def choose_method(method: str, n: int, d: int, need_covariance: bool = False) -> str:
    """covariance or gram for N images of D pixels: `auto` takes the covariance when N >= D or when it is
    needed, the Gram matrix otherwise; an explicit choice is kept unless it cannot serve."""
    if method not in METHODS:
        raise LbrError(f"closed_form.method must be auto, covariance or gram, not '{method}'.")
    if method == "auto":
        return "covariance" if n >= d or need_covariance else "gram"
    if method == "gram" and need_covariance:
        raise LbrError(
            "closed_form.method is gram, but these statistics feed Theorem 3 (Fig. 7 or the noise check), which "
            "needs the D x D covariance; set closed_form.method to auto or covariance."
        )
    return method
