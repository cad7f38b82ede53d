"""Every term the app uses, defined once: plain words and a formula (LaTeX), so a tooltip, the
Glossary page and (later) a translation all read from the same entry.

Notation as in ``help(nnmath)``: samples are rows; X (m, 784) pixels in [0, 1], Z1 = X W1 + b1
(m, h), A1 = g(Z1), Z2 = A1 W2 + b2 (m, 10) the logits, A2 = softmax(Z2), Y the one-hot labels,
y_i the true digit of image i, m the number of images.

A tooltip is ``help=glossary.help("ece")``; the page shows each term under the anchor of its key,
so ``glossary#ece`` links straight to it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

NO_FORMULA = "no formula"  # said explicitly: a term without one is a choice, not a gap


class Term(NamedTuple):
    name: str  # as the app writes it
    plain: str  # one or two sentences, no other jargon where it can be avoided
    formula: str  # LaTeX (without $), or NO_FORMULA
    see: tuple[str, ...] = ()  # keys of related terms


def _terms(*entries: tuple[str, Term]) -> dict[str, Term]:
    return dict(entries)


TERMS: dict[str, Term] = _terms(
    # ---- the data ---------------------------------------------------------------------------
    (
        "train-set",
        Term(
            "Train set",
            "The images the network learns from: every update of the weights is computed on "
            "them. On the embedded sample, 4,000 of the 5,000 digits.",
            NO_FORMULA,
            ("dev-set",),
        ),
    ),
    (
        "dev-set",
        Term(
            "Dev set (held-out images)",
            "Images put aside before training and never used to change the weights, so how the "
            "network does on them says how it does on digits it has never seen. On the embedded "
            "sample, 1,000 images (100 of each digit).",
            NO_FORMULA,
            ("train-set", "dev-accuracy"),
        ),
    ),
    (
        "one-hot",
        Term(
            "One-hot label",
            "The true digit written as ten numbers: 1 in the digit's place, 0 everywhere else.",
            r"Y_{ik} = 1 \text{ if } y_i = k \text{, else } 0",
        ),
    ),
    # ---- the network ------------------------------------------------------------------------
    (
        "hidden-unit",
        Term(
            "Hidden unit",
            "One of the numbers between the pixels and the answer. Each adds up all 784 pixels "
            "with its own weights, adds its bias and passes the sum through the activation.",
            r"A_{1,j} = g\Big(\sum_{i=1}^{784} x_i W_{1,ij} + b_{1,j}\Big)",
            ("activation", "weights"),
        ),
    ),
    (
        "weights",
        Term(
            "Weights and biases",
            "The numbers the network learns: W1 and b1 turn pixels into hidden units, W2 and b2 "
            "turn hidden units into one score per digit.",
            r"Z_1 = X W_1 + b_1, \quad Z_2 = A_1 W_2 + b_2",
            ("hidden-unit", "logit"),
        ),
    ),
    (
        "activation",
        Term(
            "Activation",
            "The function each hidden unit applies to its sum. Without one the whole network "
            "would be a single linear map.",
            r"A_1 = g(Z_1)",
            ("relu", "sigmoid", "tanh", "identity"),
        ),
    ),
    (
        "relu",
        Term(
            "ReLU",
            "The notebook's activation: keeps a positive sum, turns a negative one into 0.",
            r"\mathrm{ReLU}(z) = \max(0, z)",
            ("dead-unit",),
        ),
    ),
    (
        "sigmoid",
        Term(
            "Sigmoid",
            "An activation that squashes any sum into the range 0 to 1.",
            r"\sigma(z) = \frac{1}{1 + e^{-z}}",
        ),
    ),
    (
        "tanh",
        Term(
            "Tanh",
            "An activation that squashes any sum into the range −1 to 1.",
            r"\tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}",
        ),
    ),
    (
        "identity",
        Term(
            "Identity activation",
            "No activation: each hidden unit passes its sum on unchanged, so the network is "
            "linear.",
            r"g(z) = z",
        ),
    ),
    (
        "logit",
        Term(
            "Logit",
            "The raw score the network gives each digit before softmax turns the ten scores "
            "into probabilities. Higher means more likely; only differences between logits "
            "matter.",
            r"Z_2 = A_1 W_2 + b_2",
            ("softmax",),
        ),
    ),
    (
        "softmax",
        Term(
            "Softmax",
            "Turns the ten logits into ten probabilities that are positive and add up to 1; the "
            "largest logit gets the largest probability.",
            r"A_{2,k} = \frac{e^{Z_{2,k}}}{\sum_{j=0}^{9} e^{Z_{2,j}}}",
            ("logit", "confidence"),
        ),
    ),
    (
        "prediction",
        Term(
            "Prediction",
            "The digit the network answers: the one with the largest probability.",
            r"\hat y_i = \arg\max_k A_{2,ik}",
        ),
    ),
    (
        "confidence",
        Term(
            "Confidence",
            "How sure the network says it is: the probability of the digit it answers.",
            r"c_i = \max_k A_{2,ik}",
            ("calibration",),
        ),
    ),
    # ---- training ---------------------------------------------------------------------------
    (
        "loss",
        Term(
            "Loss",
            "One number that says how wrong the network is on the training images; training "
            "pushes it down. Here it is the mean cross-entropy: 0 would mean every true digit "
            "got probability 1.",
            r"L = -\frac{1}{m} \sum_{i=1}^{m} \log A_{2,i y_i}",
            ("cross-entropy",),
        ),
    ),
    (
        "cross-entropy",
        Term(
            "Cross-entropy",
            "The loss of one image: minus the log of the probability the network gave the true "
            "digit. Small when it was sure and right, large when it was sure and wrong.",
            r"-\sum_{k=0}^{9} Y_k \log A_{2,k} = -\log A_{2,y}",
            ("loss", "nll"),
        ),
    ),
    (
        "gradient",
        Term(
            "Gradient",
            "For every weight, how much the loss would rise if that weight grew a little. "
            "Backpropagation computes it layer by layer, from the output back to the pixels.",
            r"dZ_2 = \tfrac{1}{m}(A_2 - Y),\ dW_2 = A_1^\top dZ_2,\ "
            r"dZ_1 = dZ_2 W_2^\top \odot g'(Z_1),\ dW_1 = X^\top dZ_1",
            ("gradient-descent",),
        ),
    ),
    (
        "gradient-descent",
        Term(
            "Gradient descent",
            "The training rule: move every weight a small step against its gradient, so the "
            "loss goes down, and repeat.",
            r"W \leftarrow W - \alpha \, dW",
            ("alpha", "iteration"),
        ),
    ),
    (
        "alpha",
        Term(
            "Alpha (learning rate)",
            "How big a step each update takes. Too small and training crawls; too large and the "
            "loss jumps around or blows up.",
            r"W \leftarrow W - \alpha \, dW",
            ("divergence",),
        ),
    ),
    (
        "iteration",
        Term(
            "Iteration",
            "One update of all the weights. With the full batch (the notebook's way) one "
            "iteration looks at every training image once.",
            r"W^{(t+1)} = W^{(t)} - \alpha \, dW^{(t)}",
            ("epoch", "batch"),
        ),
    ),
    (
        "epoch",
        Term(
            "Epoch",
            "One pass over every training image. With the full batch an epoch is one iteration; "
            "with mini-batches of b images it takes ⌈m / b⌉ iterations.",
            r"\text{iterations per epoch} = \lceil m / b \rceil",
        ),
    ),
    (
        "batch",
        Term(
            "Batch size",
            "How many training images each update looks at. The full batch (the notebook's) uses "
            "all of them; a mini-batch uses a few, so each step is cheaper but noisier.",
            r"dW = \tfrac{1}{b} \sum_{i \in \text{batch}} dW_i",
        ),
    ),
    (
        "seed",
        Term(
            "Seed",
            "The number the random starting weights (and the mini-batch order) are drawn from. "
            "Same seed and settings, same numbers, bit for bit.",
            NO_FORMULA,
        ),
    ),
    (
        "initialisation",
        Term(
            "Initialisation",
            "How the weights start. uniform (the notebook's): every weight and bias uniform "
            "between −0.5 and 0.5. he: weights from a normal distribution scaled to the number "
            "of inputs, biases 0, a better start for ReLU.",
            r"\text{uniform: } W \sim U[-0.5, 0.5), \quad \text{he: } W \sim "
            r"\mathcal{N}\big(0, \tfrac{2}{\text{fan-in}}\big)",
        ),
    ),
    (
        "float-precision",
        Term(
            "Precision (float32, float64)",
            "How many digits each number is stored with: float32 keeps about 7 and is faster, "
            "float64 about 16. The answers barely differ.",
            NO_FORMULA,
        ),
    ),
    (
        "divergence",
        Term(
            "Divergence",
            "Training blew up: the loss stopped being a number, or grew past 10 times where it "
            "started. The run stops there and keeps the last good weights; a smaller alpha "
            "usually helps.",
            r"L_t \notin \mathbb{R} \ \text{ or } \ L_t > 10 \, L_0",
            ("alpha",),
        ),
    ),
    (
        "dead-unit",
        Term(
            "Dead unit",
            "A ReLU hidden unit whose sum is negative for every training image: its output is "
            "always 0, so it gets no gradient and never learns again.",
            r"Z_{1,ij} \le 0 \ \text{ for every training image } i",
            ("relu",),
        ),
    ),
    (
        "snapshot",
        Term(
            "Snapshot",
            "A copy of the weights kept every 50 iterations, so any page can show the network as "
            "it was at that point of training.",
            NO_FORMULA,
        ),
    ),
    (
        "overfitting",
        Term(
            "Overfitting",
            "The network keeps getting better on the training images but not on the dev images: "
            "it is learning the training set's details rather than digits.",
            r"\text{gap} = \text{train accuracy} - \text{dev accuracy}",
            ("regularisation",),
        ),
    ),
    (
        "regularisation",
        Term(
            "Regularisation",
            "Anything that keeps a network from memorising its training images: fewer hidden "
            "units, stopping earlier, or a penalty on large weights (weight decay).",
            r"L_{\text{reg}} = L + \frac{\lambda}{2} \sum W^2",
            ("overfitting",),
        ),
    ),
    (
        "optimizer",
        Term(
            "Optimizer",
            "The rule that turns a gradient into an update of the weights. gd is the notebook's "
            "plain step; momentum, Nesterov and Adam remember earlier gradients to move faster "
            "along steady directions.",
            r"\text{gd: } W \leftarrow W - \alpha_t \, g",
            ("momentum", "adam", "gradient-descent"),
        ),
    ),
    (
        "momentum",
        Term(
            "Momentum",
            "An update that keeps a running sum of past gradients, a velocity, so steps grow "
            "along directions the gradient keeps pointing to. Nesterov's variant looks one step "
            "ahead along it.",
            r"v \leftarrow \mu v + g, \quad W \leftarrow W - \alpha_t v",
            ("optimizer",),
        ),
    ),
    (
        "adam",
        Term(
            "Adam",
            "An optimizer that scales each weight's step by how large its recent gradients have "
            "been, so every weight moves at a similar pace.",
            r"m \leftarrow \beta_1 m + (1 - \beta_1) g, \ v \leftarrow \beta_2 v + "
            r"(1 - \beta_2) g^2, \ W \leftarrow W - \frac{\alpha_t}{1 - \beta_1^{t}} "
            r"\frac{m}{\sqrt{v / (1 - \beta_2^{t})} + \epsilon}",
            ("optimizer",),
        ),
    ),
    (
        "weight-decay",
        Term(
            "Weight decay (L2)",
            "A pull of every weight toward 0 at each update, so the network prefers small "
            "weights; the biases are left alone. It is not part of the loss the pages show.",
            r"g \leftarrow g + \lambda W",
            ("regularisation",),
        ),
    ),
    (
        "schedule",
        Term(
            "Learning-rate schedule",
            "How the step size changes during training: constant (the notebook's), step "
            "(multiplied by gamma every N updates) or cosine (falling smoothly to 0 at the "
            "horizon).",
            r"\text{step: } \alpha_t = \alpha \, \gamma^{\lfloor t / N \rfloor}, \quad "
            r"\text{cosine: } \alpha_t = \alpha \, \frac{1 + \cos(\pi t / T)}{2}",
            ("alpha",),
        ),
    ),
    (
        "dropout",
        Term(
            "Dropout",
            "During training, each image switches off a random share p of the hidden units and "
            "scales the others up to make up for it, so no unit can rely on another; the "
            "finished network uses all of them.",
            r"A_1 \leftarrow A_1 \odot \frac{M}{1 - p}, \quad M_{ij} \sim "
            r"\text{Bernoulli}(1 - p)",
            ("regularisation",),
        ),
    ),
    (
        "augmentation",
        Term(
            "Augmentation",
            "During training, each image is changed a little every iteration (rotated, shifted, "
            "noisy, thicker or thinner strokes), so the network learns digits rather than the "
            "exact training pictures.",
            NO_FORMULA,
            ("regularisation",),
        ),
    ),
    # ---- scores -----------------------------------------------------------------------------
    (
        "accuracy",
        Term(
            "Accuracy",
            "The share of images whose predicted digit is the true one.",
            r"\text{accuracy} = \frac{1}{m} \sum_{i=1}^{m} [\hat y_i = y_i]",
        ),
    ),
    (
        "dev-accuracy",
        Term(
            "Dev accuracy",
            "Accuracy on the dev set, the images the network never trained on: the honest score.",
            r"\frac{1}{m_{\text{dev}}} \sum_{i \in \text{dev}} [\hat y_i = y_i]",
            ("dev-set",),
        ),
    ),
    (
        "train-accuracy",
        Term(
            "Train accuracy",
            "Accuracy on the images the network trained on. Higher than dev accuracy as a rule; "
            "a growing gap means overfitting.",
            r"\frac{1}{m_{\text{train}}} \sum_{i \in \text{train}} [\hat y_i = y_i]",
            ("overfitting",),
        ),
    ),
    (
        "confusion-matrix",
        Term(
            "Confusion matrix",
            "A 10 × 10 table: row t, column p counts the images of digit t the network read as p. "
            "The diagonal is the right answers, everything else a mistake.",
            r"C_{tp} = \#\{ i : y_i = t,\ \hat y_i = p \}",
        ),
    ),
    (
        "precision",
        Term(
            "Precision (of a digit)",
            "Of the images the network called d, the share that really are d.",
            r"P_d = \frac{C_{dd}}{\sum_t C_{td}}",
            ("recall", "f1"),
        ),
    ),
    (
        "recall",
        Term(
            "Recall (of a digit)",
            "Of the images that really are d, the share the network found.",
            r"R_d = \frac{C_{dd}}{\sum_p C_{dp}}",
            ("precision", "f1"),
        ),
    ),
    (
        "f1",
        Term(
            "F1 score",
            "Precision and recall in one number, their harmonic mean: high only when both are.",
            r"F_1 = \frac{2 P R}{P + R}",
        ),
    ),
    # ---- confidence -------------------------------------------------------------------------
    (
        "calibration",
        Term(
            "Calibration",
            "Whether the confidence can be taken at its word: of the images answered with 80% "
            "confidence, 80% should be right.",
            r"P(\hat y = y \mid c = p) = p",
            ("reliability-diagram", "ece"),
        ),
    ),
    (
        "reliability-diagram",
        Term(
            "Reliability diagram",
            "The dev images sorted into 15 bins by confidence; each bar is one bin's accuracy, "
            "and the diagonal is where a calibrated network's bars would end.",
            r"\text{acc}_b = \frac{1}{n_b} \sum_{i \in b} [\hat y_i = y_i], \quad "
            r"\text{conf}_b = \frac{1}{n_b} \sum_{i \in b} c_i",
        ),
    ),
    (
        "ece",
        Term(
            "ECE (expected calibration error)",
            "How far the confidence is from the accuracy, averaged over the confidence bins "
            "weighted by how many images each holds (0 = the confidence means what it says).",
            r"\mathrm{ECE} = \sum_b \frac{n_b}{m} \, \lvert \text{acc}_b - \text{conf}_b \rvert",
            ("reliability-diagram",),
        ),
    ),
    (
        "mce",
        Term(
            "MCE (maximum calibration error)",
            "The largest gap between confidence and accuracy in any one bin (jumpy when a bin "
            "holds only a few images).",
            r"\mathrm{MCE} = \max_b \lvert \text{acc}_b - \text{conf}_b \rvert",
        ),
    ),
    (
        "nll",
        Term(
            "NLL (negative log-likelihood)",
            "The loss measured on the dev images, the mean of minus the log of the probability "
            "given to the true digit; it punishes confident mistakes hardest.",
            r"\mathrm{NLL} = -\frac{1}{m} \sum_{i=1}^{m} \log A_{2,i y_i}",
            ("cross-entropy",),
        ),
    ),
    (
        "brier",
        Term(
            "Brier score",
            "How far the ten probabilities are from the one-hot answer, squared and added up: 0 "
            "for certain and right, 2 for certain and wrong.",
            r"\mathrm{Brier} = \frac{1}{m} \sum_{i=1}^{m} \sum_{k=0}^{9} (A_{2,ik} - Y_{ik})^2",
        ),
    ),
    (
        "temperature",
        Term(
            "Temperature (T)",
            "One number the logits are divided by before softmax, fitted so the probabilities "
            "fit the dev images best. T above 1 means the network was overconfident. It never "
            "changes which digit is answered.",
            r"A_2 = \mathrm{softmax}(Z_2 / T)",
            ("calibration",),
        ),
    ),
    (
        "coverage",
        Term(
            "Coverage",
            "When the network answers only if its confidence reaches a threshold, the share of "
            "images it answers.",
            r"\text{coverage} = \frac{1}{m} \#\{ i : c_i \ge \tau \}",
        ),
    ),
    # ---- inside the network -----------------------------------------------------------------
    (
        "attribution",
        Term(
            "Attribution (pixel shares)",
            "How much each pixel pushed the answer toward one digit rather than another. With "
            "ReLU, once an image fixes which units are on, the network is linear, so the shares "
            "are exact.",
            r"s_i = x_i \sum_j m_j W_{1,ij} (W_{2,jt} - W_{2,jv}), \quad m_j = [Z_{1,j} > 0]",
            ("completeness",),
        ),
    ),
    (
        "completeness",
        Term(
            "Completeness",
            "The pixel shares plus the biases' share add up to exactly the difference between "
            "the two logits; the app shows what is left over, a rounding error around 1e-15.",
            r"\sum_i s_i + \text{bias share} = z_t - z_v",
            ("attribution",),
        ),
    ),
    (
        "counterfactual",
        Term(
            "Counterfactual",
            "The nearest image the network reads as another digit: the smallest change of ink "
            "that changes its mind.",
            r"\min_{x'} \lVert x' - x \rVert_2 \ \text{ such that } z_t(x') > z_k(x') "
            r"\ \forall k \ne t,\ x' \in [0, 1]^{784}",
        ),
    ),
    (
        "seed-group",
        Term(
            "Seed group",
            "Runs with the same settings except their seed (the random start). Their spread "
            "shows how much of a result is luck; the app gives their mean ± sample standard "
            "deviation and how many seeds.",
            r"\bar a = \tfrac{1}{n}\sum_s a_s, \quad "
            r"\text{sd} = \sqrt{\tfrac{1}{n-1}\sum_s (a_s - \bar a)^2}",
            ("seed", "welch-t-interval"),
        ),
    ),
    (
        "paired-bootstrap",
        Term(
            "Paired bootstrap",
            "How sure a difference between two runs is, from the dev images they share: draw "
            "the images again at random (with replacement) many times, recompute B's accuracy "
            "minus A's each time, and keep the middle 95% of those differences as the interval. "
            "Only images where A and B disagree move it.",
            r"\Delta^* = \tfrac{1}{n}\sum_{i \in \text{draw}} ([b_i = y_i] - [a_i = y_i]),"
            r"\quad \text{interval} = [q_{2.5\%}(\Delta^*),\ q_{97.5\%}(\Delta^*)]",
            ("dev-set", "welch-t-interval"),
        ),
    ),
    (
        "welch-t-interval",
        Term(
            "Welch's t interval",
            "How sure a difference between two groups of seeds is: the difference of their mean "
            "accuracies, plus or minus a t quantile times its standard error, without assuming "
            "the groups spread alike. If it includes 0, there is no clear difference.",
            r"\bar b - \bar a \pm t_{0.975,\nu} \sqrt{s_a^2/n_a + s_b^2/n_b}",
            ("seed-group", "paired-bootstrap"),
        ),
    ),
    (
        "main-effect",
        Term(
            "Share of the variance (which setting mattered)",
            "For a sweep: how much of the spread of dev accuracy over its runs lines up with one "
            "setting. It compares the setting's per-value averages with the overall average.",
            r"\eta^2_k = \frac{\sum_v n_v (\bar y_v - \bar y)^2}{\sum_i (y_i - \bar y)^2}",
            ("seed-group",),
        ),
    ),
    (
        "pca",
        Term(
            "PCA map",
            "A flat picture of the hidden layer: each dev image placed by its two strongest "
            "patterns of hidden activity, so images the network treats alike sit together.",
            r"A_1 - \bar A_1 = U S V^\top, \quad \text{map} = (A_1 - \bar A_1) V_{:, 1:2}",
        ),
    ),
)


def term(key: str) -> Term:
    """The entry of ``key``; a KeyError names the key when a page asks for a term not here."""
    try:
        return TERMS[key]
    except KeyError:
        raise KeyError(f"{key!r} is not in the glossary (views/glossary.py)") from None


def help(key: str) -> str:  # noqa: A001 - the name of the widget argument it fills
    """A widget's ``help=`` tooltip: the plain words, the formula, and a link to the entry."""
    t = term(key)
    formula = "" if t.formula == NO_FORMULA else f"\n\n${t.formula}$"
    return f"{t.plain}{formula}\n\n{link(key)}"


def link(key: str) -> str:
    """'[Alpha (learning rate) in the glossary](glossary#alpha)': to end a tooltip of its own."""
    return f"[{term(key).name} in the glossary](glossary#{key})"


def see_also(key: str) -> str:
    """'See also: [Softmax](#softmax), …' for the Glossary page ('' when the term names none)."""
    links = [f"[{term(k).name}](#{k})" for k in term(key).see]
    return "See also: " + ", ".join(links) + "." if links else ""


def search(text: str) -> list[str]:
    """Keys of the terms whose name or words have a word starting with ``text``
    (case-insensitive), in order: "ece" finds ECE, not "recent"."""
    needle = re.compile(r"\b" + re.escape(text.strip()), re.IGNORECASE)
    return [k for k, t in TERMS.items() if needle.search(t.name) or needle.search(t.plain)]
