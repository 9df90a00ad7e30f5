"""Every row of the scorecard as data: what the paper says, the statistic computed, the smallest effect that counts
(the paper's where it gives one, stated where it does not), the test and why. The evaluators (one module per
figure) fill in what the rebuild gives; `Claim.row` makes the CSV row."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from lbr.scorecard.stats import Estimate
from lbr.scorecard.verdicts import BEYOND, CONSISTENCY, PAPER

COLUMNS = [
    "id", "kind", "figure", "claim", "paper", "status", "statistic", "estimate", "ci_low", "ci_high", "df", "runs",
    "points", "effect", "rebuilt", "data", "scale", "test", "why", "table",
]  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """What is claimed and how it is judged; `row` adds what the rebuild gives."""

    id: str
    kind: str  # paper | consistency | beyond
    figure: str
    claim: str
    paper: str  # the paper's value or words
    statistic: str  # what is computed, with its unit and sign
    effect: str  # the smallest effect that counts (or the margin), and where it comes from
    test: str
    why: str
    table: str

    def row(
        self, status: str, rebuilt: str, est: Estimate | None = None, data: str = "", scale: str = "", **changes
    ) -> dict:
        """A scorecard row: `rebuilt` says what was compared (or what is missing), `est` the estimate behind the
        status (None: not built or not comparable), `data` the datasets, `scale` the models and budgets."""
        numbers = dict.fromkeys(("estimate", "ci_low", "ci_high", "df", "runs", "points"), "")
        if est is not None and math.isfinite(est.value):
            numbers |= {"estimate": est.value, "runs": est.runs, "points": est.points}
            if est.exact:
                numbers["df"] = "exact"
            elif est.has_interval:
                numbers |= {"ci_low": est.lo, "ci_high": est.hi, "df": est.df}
            else:
                numbers["df"] = "no interval"
        extra = {"status": status, "rebuilt": rebuilt, "data": data, "scale": scale, "table": f"{self.table}.csv"}
        return asdict(replace(self, **changes)) | numbers | extra


SEEDS = (
    "Judged over seeds: a 95% t interval of the per-seed statistic (paired by seed; df = seeds - 1), so one seed gives "
    "no interval and the row is inconclusive."
)
HALF = "half the paper's effect, the convention of replication studies for the smallest effect worth detecting"

# Fig. 1 (top), read from the Fig. 4 table -------------------------------------------------------------------------
_ABSTRACT = (
    "The abstract rounds to 5 points, and the authors' trainer settings (OneCycle shape, loss) are unknown "
    "(DIGEST 7.11), so a value within 5 points is the same result. " + SEEDS
)
FIG1_TOP = Claim(
    "fig1-top90", PAPER, "1",
    "TinyImageNet ResNet9 on the top subspace holding 90% of the pixel variance: about 45% test accuracy",
    "45%", "test accuracy minus 45 (points), at the top level within 2 points of 90% variance (or interpolated)",
    "equivalence margin 5 points (the abstract's rounding)",
    "the 95% interval of accuracy - 45 lies within (-5, +5)", _ABSTRACT, "fig4",
)  # fmt: skip
FIG1_BOTTOM = Claim(
    "fig1-bottom20", PAPER, "1",
    "TinyImageNet ResNet9 on the bottom subspace holding 20% of the pixel variance: about 55% test accuracy",
    "55%", "test accuracy minus 55 (points), at the bottom level within 2 points of 20% variance (or interpolated)",
    "equivalence margin 5 points (the abstract's rounding)",
    "the 95% interval of accuracy - 55 lies within (-5, +5)", _ABSTRACT, "fig4",
)  # fmt: skip
FIG1_ORDER = Claim(
    "fig1-order", PAPER, "1",
    "ResNet9: the bottom 20% of the variance classifies better than the top 90% (TinyImageNet in the paper)",
    "+10 points (55% vs 45%)",
    "bottom-20% minus top-90% test accuracy (points), per seed; each level within 2 points of its share of the "
    "variance or interpolated between two levels that bracket it",
    "1 point (stated: the order is the claim; its size is that of TinyImageNet, checked by fig1-top90/bottom20)",
    "the 95% interval lies above 0 and reaches +1 point",
    "Levels further than 2 points of variance from 20% / 90% are not the paper's comparison: the row is then not "
    "comparable. " + SEEDS, "fig4",
)  # fmt: skip

# Fig. 2 (closed form) ----------------------------------------------------------------------------------------------
_MEASURES = (
    "Both measures are evaluated: the plotted one (the authors' 100 sqrt(class-weighted ratio), alignment_code) and "
    "Eq. 7's ratio (alignment); where their verdicts disagree the row says so and is inconclusive. A closed form on "
    "the whole training split has no sampling interval."
)
FIG2_CIFAR = Claim(
    "fig2-cifar100", PAPER, "2", "Same images, more classes: CIFAR-100 is less aligned than CIFAR-10 at small K",
    "CIFAR-100 below CIFAR-10",
    "mean over K = 1..32 of CIFAR-10 minus CIFAR-100 alignment (points), per measure, on raw pixels (as published) "
    "and on centred pixels",
    "1 point (stated: the text gives no size)",
    "the difference is at least 1 point under every measure and preprocessing built",
    "K <= 32 (1% of D) is the small K the text stresses. On uncentred pixels the top direction is the mean image, "
    "which carries a label intercept: the centred computation shows whether the order is the classes' or the mean "
    "image's. " + _MEASURES, "fig2",
)  # fmt: skip
FIG2_EARLY = Claim(
    "fig2-no-background", PAPER, "2",
    "Images without background (Arabic characters and digits, FashionMNIST, MNIST) are aligned already at small K",
    "aligned at a small share of D (the share was lost from the text)",
    "the share of D at which the alignment first reaches 90%, per measure",
    "bound 10% of D (stated: the paper's share was lost)",
    "90% alignment is reached by K = 10% of D on each such dataset built, under both measures",
    "A straight line (the TinyImageNet regime, and what shuffled labels give) reaches 90% only at 90% of D (81% under "
    "the ratio), so 10% of D separates the regimes by an order of magnitude. " + _MEASURES, "fig2",
)  # fmt: skip
FIG2_LINEAR = Claim(
    "fig2-tinyimagenet", PAPER, "2",
    "TinyImageNet: alignment grows only about linearly with K, so near-full K is needed",
    "linear in K", "largest distance of the alignment curve from the line 100 K/D (points), per measure",
    "bound 15 points (stated: read from a plot)", "the curve stays within 15 points of the line at every K",
    "An early-aligned curve (90% by 10% of D) lies at least 80 points above the line there, so 15 points tells the "
    "regimes apart. " + _MEASURES, "fig2",
)  # fmt: skip

# Fig. 3 ---------------------------------------------------------------------------------------------------------
MIN_BANDS = 4
FIG3_RATE = Claim(
    "fig3-rate", PAPER, "3",
    "an autoencoder learns low-eigenvalue bands exponentially more slowly (perception features last)",
    "bottom bands learned 'exponentially slower'",
    "slope of the epochs a band needs against log10 of its eigenvalue, over the bands captured after training "
    "began (sign flipped: epochs later per decade lower)",
    "1 epoch per decade (stated: a band ten times lower in variance is learned at least an epoch later)",
    f"the 95% interval of the slope lies above 0 and reaches 1 epoch per decade; fewer than {MIN_BANDS} bands "
    "captured after training began is inconclusive",
    "'Exponentially slower' is a learning time linear in log(1 / eigenvalue), so the slope is the rate. Bands "
    "captured before training (the mean image of the uncentred basis, which almost any decoder outputs) say nothing "
    "about learning and are left out; bands never captured are censored and left out too. The interval is that of "
    "a least-squares slope (df = bands - 2), one run per panel.", "fig3_bands",
)  # fmt: skip

# Fig. 4 ---------------------------------------------------------------------------------------------------------
FIG4_GAP = Claim(
    "fig4-gap", PAPER, "4",
    "for any share of variance kept, the bottom subspace classifies better than the top one",
    "bottom > top at every share",
    "bottom minus top test accuracy (points) at each bottom level, the top curve interpolated at equal variance "
    "(or, below its range, its lowest level: a fortiori), averaged over levels, per seed",
    "1 point (stated: the paper gives no size)",
    "the 95% interval of the mean gap lies above 0 and reaches 1 point, and no level has the top significantly above "
    "the bottom (Bonferroni over levels)",
    "Top subspaces are nested, so the top curve's accuracy at less variance is no higher than at its lowest level: "
    "comparing a bottom level below the top curve's range with that level is conservative. A level where the top "
    "is significantly better contradicts 'for any share' and makes the row differ. " + SEEDS, "fig4",
)  # fmt: skip

# Figs. 5-6 --------------------------------------------------------------------------------------------------------
SAME_RECON = 0.10
FIG6_GAP = Claim(
    "fig6-gap", PAPER, "6",
    "At equal reconstruction error, supervised guidance makes the linear probe far more accurate",
    "+40 points (50% -> almost 90%)",
    "guided minus unguided linear-probe validation accuracy (points), per seed, for the (unguided latent, guided "
    "latent) pair with the closest train and validation reconstruction MSE (seed means), chosen before any accuracy "
    "is read",
    f"20 points ({HALF})",
    "the 95% interval lies above 0 and reaches 20 points; no pair within 10% on both MSEs is not comparable",
    "The paper calls losses read off a plot 'the same', so 10% of the MSE on both the train and the validation "
    "split is equal. " + SEEDS, "fig6",
)  # fmt: skip
FIG6_VALUES = Claim(
    "fig6-values", PAPER, "6",
    "Imagenette, equal reconstruction error: unguided about 50%, guided almost 90% linear-probe accuracy",
    "50% and 90%", "unguided accuracy minus 50 and guided accuracy minus 90 (points), the pair of fig6-gap",
    "equivalence margin 10 points (numbers read from prose about a scatter plot)",
    "both 95% intervals lie within 10 points of the paper's values (Imagenette runs only)",
    "Both numbers come from prose about a scatter plot, after 1000 epochs with unknown trainer settings. " + SEEDS,
    "fig6",
)  # fmt: skip

# Fig. 7 and the noise check -----------------------------------------------------------------------------------
_THEOREM3 = "Theorem 3's closed form on the whole training split (exact, no sampling interval)."
FIG7_MASK = Claim(
    "fig7-mask", PAPER, "7", "Masking raises the alignment for some ratio, patch and K (most at small K)",
    "an increase (no number in the text)", "largest change of alignment (%) over masks and K, per dataset",
    "1% (stated: far above round-off, where Gaussian noise stays)", "the largest change reaches +1% on every dataset",
    _THEOREM3, "fig7",
)  # fmt: skip
CHECK_MASK = Claim(
    "noise-check-mask", PAPER, "7", "Label-free check: masking does change what a linear autoencoder keeps",
    "sometimes", "the noise check's verdict per mask (principal angles to the PCA subspace over K)",
    "the verdict's own tolerance (noise_check.tol_deg)", "verdict 'sometimes' for every mask (ratio > 0)",
    _THEOREM3, "noise_check",
)  # fmt: skip
FIG7_GAUSS = Claim(
    "fig7-gaussian", CONSISTENCY, "7",
    "Additive Gaussian noise leaves the alignment unchanged at every K (Corollary 3.1)",
    "0% change", "largest |change of alignment| (%) over sigma, K and dataset", "round-off: 1e-6 %",
    "holds when |change| <= 1e-6 % everywhere",
    "An identity: Gaussian noise adds sigma^2 I to the second moment, which is diagonal in the PCA basis, so the "
    "optimal subspace cannot move; a change above round-off is a bug, not a finding.", "fig7",
)  # fmt: skip
CHECK_GAUSS = Claim(
    "noise-check-gaussian", CONSISTENCY, "7",
    "Label-free check: Gaussian noise can never change what a linear autoencoder keeps",
    "never", "the noise check's verdict per sigma", "the verdict's own tolerance (noise_check.tol_deg)",
    "holds when the verdict is 'never' for every sigma on every dataset", "An identity (as fig7-gaussian).",
    "noise_check",
)  # fmt: skip

# Fig. 8 ---------------------------------------------------------------------------------------------------------
_GD = (
    "A self-check of the closed form: Theorem 1 (3) is proven, so descent approaching it checks our implementation and "
    "the step budget, not the paper's science. Descent may approach the optimum but never beat it."
)
FIG8_THM1 = Claim(
    "fig8-theorem1", CONSISTENCY, "8",
    "Theorem 1's closed form is the optimum Adam converges to, for every D, K, lambda",
    "gap -> round-off", "(best loss - closed form) / (first loss - closed form), per (D, K, lambda)",
    "1e-3 of the initial gap", "holds when every run ends within 1e-3 of the initial gap and none beats the optimum by "
    "more than 1e-6 of it", _GD, "fig8",
)  # fmt: skip
FIG8_THM3 = Claim(
    "fig8-theorem3", CONSISTENCY, "8",
    "Theorem 3's closed form is the optimum SGD on Gaussian denoising converges to, for every number of views",
    "gap -> round-off", "(best expected loss - closed form) / (first - closed form), per number of views",
    "1e-3 of the initial gap", "as fig8-theorem1", _GD, "fig8",
)  # fmt: skip

# Fig. 10 (beyond the paper) ---------------------------------------------------------------------------------------
PROBE_MARGIN = 1.0
_FIG10 = (
    "Theorem 3 is proven for linear autoencoders; whether a trained nonlinear one follows is the question, so "
    "'differs' is a finding about nonlinear autoencoders, not a fault of the rebuild. " + SEEDS
)
FIG10_GAUSS = Claim(
    "fig10-gaussian", BEYOND, "10",
    "Additive Gaussian noise leaves the linear-probe accuracy of a trained autoencoder's code unchanged",
    "no change (Corollary 3.1, for linear autoencoders)",
    "final probe accuracy with the noise minus without (points), per seed, for every sigma",
    f"equivalence margin {PROBE_MARGIN:g} point (stated)",
    f"the 95% interval lies within (-{PROBE_MARGIN:g}, +{PROBE_MARGIN:g}) points for every sigma (two-sided)",
    _FIG10, "fig10",
)  # fmt: skip
FIG10_MASK = Claim(
    "fig10-mask", BEYOND, "10",
    "A mask changes the linear-probe accuracy of a trained autoencoder's code in the direction Theorem 3 predicts",
    "the sign of Theorem 3's change of alignment at K = the code size (Fig. 7, linear autoencoders)",
    "final probe accuracy with the mask minus without (points), per seed, signed by the predicted change",
    f"{PROBE_MARGIN:g} point (stated, as the Gaussian margin)",
    f"the 95% interval lies above 0 and reaches {PROBE_MARGIN:g} point; not comparable where the theory predicts no "
    "change (<= 1e-6 %)", _FIG10, "fig10",
)  # fmt: skip

# Fig. 11 (beyond the paper) ---------------------------------------------------------------------------------------
_FIG11 = (
    "Linear closed forms (Theorem 3's reconstruction optimum and the joint-embedding optimum, docs/objectives.md) on "
    "the whole training split: exact, except that a PCA mask's keep probabilities are Monte Carlo estimates, whose "
    "error (3 SE) gives the interval. These methods came after the paper; the rows ask whether the linear theory "
    "supports them on this data."
)
FIG11_PCA = Claim(
    "fig11-pca-mask", BEYOND, "11",
    "Masking principal components (a share of the variance) makes the reconstruction optimum more aligned at small K "
    "than the best pixel mask does",
    "component masking beats pixel masking on classification (Bizeul et al. 2025)",
    "mean Eq. 7 alignment (points) over K = 1..fig11.small_k of the best PCA mask's reconstruction optimum minus the "
    "best pixel mask's",
    "1 point (stated)", "the interval lies above 0 and reaches 1 point", _FIG11, "fig11",
)  # fmt: skip
FIG11_JE = Claim(
    "fig11-joint-embedding", BEYOND, "11",
    "Joint embedding is at least as aligned as reconstruction under the same augmentation",
    "joint embedding needs a weaker alignment of augmentations and irrelevant features (Van Assel et al. 2025)",
    "mean Eq. 7 alignment (points) over K = 1..fig11.small_k of the joint-embedding optimum minus the reconstruction "
    "optimum, under one augmentation (the best pixel mask, the best PCA mask, crop/flip)",
    "non-inferiority margin 1 point (stated)",
    "non-inferiority: the interval lies above -1 point (differs: below it)", _FIG11, "fig11",
)  # fmt: skip

CLAIMS = [
    FIG1_TOP, FIG1_BOTTOM, FIG1_ORDER, FIG2_CIFAR, FIG2_EARLY, FIG2_LINEAR, FIG3_RATE, FIG4_GAP, FIG6_GAP,
    FIG6_VALUES, FIG7_MASK, CHECK_MASK, FIG7_GAUSS, CHECK_GAUSS, FIG8_THM1, FIG8_THM3, FIG10_GAUSS, FIG10_MASK,
    FIG11_PCA, FIG11_JE,
]  # fmt: skip
