"""Range checks of every config key, in one table, run by `load_config` after the type checks.

`RULES` maps each `section.key` of `schema.py` to a `Rule` (positive_int, probability, choice, ...:
the rule library, `rules.py`); `CROSS_RULES` hold the checks that involve several keys. The names a
registry above config holds (backbones, learners, label generators) are the "names" stage's, checked
right after loading by `raereid.adapt.checks.check_names`, so config imports none of them. A bad value
stops with a `ConfigError` that names the key, the value, where it came from (the YAML file,
`preset NAME`, `--set ...`, a checkpoint) and the fix. A new config key needs one line in `RULES`:
`tests/test_validation.py` fails for any key without one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from raereid.config.rules import (
    CrossRule,
    Rule,
    at_least,
    choice,
    color_jitter,
    device,
    eps_or_auto,
    file_or_empty,
    flag,
    int_choice,
    int_list,
    interval,
    is_int,
    nonempty_int_list,
    nonneg,
    nonneg_int,
    positive,
    positive_int,
    probability,
    registered,
    registry_name,
    text,
    weights,
)
from raereid.config.schema import Config, flat_values
from raereid.errors import ConfigError
from raereid.plugins import is_plugin

ORIGINS_ATTR = "_origins"  # where each key's value came from, kept on the Config that load_config returns


def _variants() -> Iterable[str]:
    from raereid.config.variants import VARIANTS

    return VARIANTS


# Every key of schema.py -> its rule. A new key: add one line here (tests/test_validation.py checks that none is
# missing).
RULES: dict[str, Rule] = {
    "data.root": text("the folder holding the datasets"),
    "data.source": text("a dataset name (market1501, dukemtmcreid, msmt17, ...) or folder"),
    "data.target": text("a dataset name or a folder of images"),
    "data.height": positive_int("input height in pixels; any size works, the paper's is 256"),
    "data.width": positive_int("input width in pixels; any size works, the paper's is 128"),
    "data.p": at_least(2, "identities per batch: the batch-hard triplet loss needs another identity as negative"),
    "data.k": at_least(2, "images per identity: the batch-hard triplet loss needs a second image as positive"),
    "data.target_p": nonneg_int("target images (or identities) per batch; 0 = data.p"),
    "data.target_k": nonneg_int("views of each target image (or images per identity); 0 = data.k; the learner "
                                "names its least (mmcl 1, the others 2: a triplet needs a positive)"),
    "data.workers": nonneg_int("data-loading processes, 0 = load in the main process"),
    "data.flip": probability("probability of a horizontal flip"),
    "data.pad": nonneg_int("pixels of padding before the random crop, 0 = no crop"),
    "data.erasing": probability("random-erasing probability"),
    "data.color_jitter": color_jitter("all zero = no colour jitter"),
    "data.test_batch_size": positive_int("images per batch when extracting descriptors"),
    "data.verify_images": flag(),
    "data.cache_images": flag(),
    "model.backbone": registry_name("backbone", "timm:NAME is any timm model with a feature map; add one with "
                                    "@register_backbone", bad=("no-such-name", "timm:")),
    "model.pretrained": weights(),
    "model.last_stride": int_choice(1, 2, hint="stride of the backbone's last stage (the paper's: 1)"),
    "model.pooling": choice("avg", "max", "gem",
                            hint="avg is the paper's; with gem the signed fused map is average-pooled"),
    "model.dropout": interval(0.0, 1.0, high_open=True, hint="dropout before the classifiers; 1 would drop everything"),
    "model.neck": choice("none", "bn"),
    "model.decoder_channels": int_list(
        2, "the decoder's hidden widths: three x2 layers make the 8x reconstruction the losses expect"),
    "model.discriminator_channels": nonempty_int_list("one strided convolution per entry (the paper's: 3)"),
    "model.fusion_dim": positive_int("d, the joint dimension of the bilinear fusion"),
    "model.fusion_out": positive_int("o, the fused descriptor's dimension"),
    "model.fusion_power_norm": flag(),
    "model.fusion_l2_norm": flag(),
    "model.recurrent_bn": choice("running", "own", "batch", "shared",
                                 hint="running and own normalise reconstructions alike in training and at inference"),
    "model.flip_test": flag(),
    "model.dsbn": flag(),
    "loss.margin": nonneg("the triplet margin"),
    "loss.label_smoothing": interval(0.0, 1.0, high_open=True),
    "loss.lambda_tri": nonneg("0 switches the triplet terms off"),
    "loss.lambda_source": nonneg(
        "0 switches the source identity terms off (the GAN and reconstruction terms still see the source)"),
    "loss.lambda_gan_feat": nonneg("0 switches the feature GAN term off"),
    "loss.lambda_gan_pix": nonneg("0 switches the pixel GAN terms off"),
    "loss.lambda_rec": nonneg("0 switches the reconstruction terms off"),
    "loss.reconstruction_norm": choice("l2", "squared", hint="l2 reads Eq. 12 / 15's glyph as Eq. 4's distance"),
    "loss.pix_disc_sees_target": flag(),
    "loss.source_pix_to_encoder": interval(
        0.0, 1.0, hint="0: Eq. 11-13 train Dec only; 1: all their gradient reaches Enc"),
    "loss.target_pix_to_encoder": interval(
        0.0, 1.0, hint="1: Eq. 14-16 reach Enc, the paper's pixel transfer; 0: Dec only (+PT is then the baseline)"),
    "loss.fusion_to_encoder": interval(
        0.0, 1.0, hint="share of Eq. 21's gradient through the recurrent pass reaching Enc's map via Dec"),
    "optim.optimizer": choice("sgd", "adam"),
    "optim.lr_encoder": nonneg("0 freezes the encoder"),
    "optim.lr_other": nonneg("0 freezes the decoder, fusion and classifiers"),
    "optim.lr_discriminator": nonneg("0 freezes the discriminators"),
    "optim.disc_optimizer": choice("sgd", "adam"),
    "optim.momentum": interval(0.0, 1.0, high_open=True),
    "optim.adam_beta1": interval(0.0, 1.0, high_open=True),
    "optim.weight_decay": nonneg(),
    "optim.iterations": positive_int("training iterations"),
    "optim.lr_step": nonneg_int("0 = constant learning rate"),
    "optim.lr_gamma": interval(0.0, 1.0, low_open=True, hint="the factor applied every lr_step iterations"),
    "optim.warmup_iters": nonneg_int("0 = no warm-up"),
    "optim.grad_clip": nonneg("0 = no clipping"),
    "source.iterations": nonneg_int("0 = no source stage: adapt from the backbone's initial weights"),
    "source.lr_encoder": nonneg("0 freezes the encoder in the source stage"),
    "source.lr_other": nonneg("0 freezes the decoder and the source classifier in the source stage"),
    "source.lr_step": nonneg_int("0 = constant learning rate"),
    "source.decoder": flag(),
    "source.source_pix_to_encoder": interval(0.0, 1.0,
                                             hint="0: the source stage trains Enc with its identity losses only"),
    "cluster.method": registry_name("pseudo-label method", "add one with @register_label_generator"),
    "cluster.eps": eps_or_auto("DBSCAN radius on the Jaccard distance"),
    "cluster.rho": interval(0.0, 1.0, low_open=True, hint="share of the smallest distances averaged into eps=auto"),
    "cluster.min_samples": positive_int("DBSCAN's neighbours of a core point"),
    "cluster.k1": positive_int("k-reciprocal neighbours of the Jaccard distance"),
    "cluster.k2": positive_int("neighbours of the Jaccard distance's query expansion"),
    "cluster.num_clusters": at_least(2, "k-means clusters; the target losses need two"),
    "cluster.feature": choice("final", "encoder"),
    "cluster.reliability_gap": interval(0.0, 1.0, high_open=True,
                                        hint="eps -/+ this gap for SpCL's reliability criterion, 0 = off"),
    "learner.name": registry_name("learner", "add one with @register_learner (raereid/learners)"),
    "learner.temperature": positive("InfoNCE temperature of the memory / hybrid learners (Cluster Contrast: 0.05)"),
    "learner.memory_momentum": interval(0.0, 1.0, high_open=True, hint="weight of the old centroid; 1 never moves it"),
    "learner.hybrid_momentum": interval(0.0, 1.0, high_open=True, hint="weight of the old entry; 1 never moves it"),
    "learner.mplp_threshold": interval(-1.0, 1.0, high_open=True,
                                       hint="a cosine; MPLP's candidates are the images above it (1 would keep none)"),
    "learner.mplp_min_candidates": positive_int("least ranking depth in which a candidate must find the image"),
    "learner.mplp_start": probability("share of optim.iterations before MPLP; 1 = single-class labels throughout"),
    "learner.mmcl_delta": positive("weight of the positive term against the hard negatives' (MMCL's 5)"),
    "learner.mmcl_hard_ratio": interval(0.0, 1.0, low_open=True,
                                        hint="share of the negatives mined as hard ones (at least one is kept)"),
    "learner.mmcl_momentum": interval(0.0, 1.0, high_open=True, hint="final weight of the old entry; 0 = replace it"),
    "learner.jvtc_local_temperature": positive("beta1 of the local classification (JVTC's 0.1)"),
    "learner.jvtc_global_temperature": positive("beta2 of the global classification (JVTC's 0.05)"),
    "learner.jvtc_global_weight": nonneg("0 switches the global term off"),
    "learner.jvtc_global_start": probability("share of optim.iterations before the global term counts"),
    "learner.jvtc_momentum_max": interval(0.0, 1.0, high_open=True, hint="cap of the momentum; 0 = replace entries"),
    "train.variant": registered(_variants, "variant", "the rows of the paper's Table IV", any_case=True),
    "train.seed": nonneg_int(),
    "train.device": device(),
    "train.amp": flag(),
    "train.iters_per_epoch": nonneg_int("0 = one pass over the target between clusterings"),
    "train.eval_every": nonneg_int("0 = evaluate at the end only"),
    "train.checkpoint_every": nonneg_int("0 = checkpoint at the end only"),
    "train.log_every": positive_int("iterations between two loss records"),
    "train.init": file_or_empty("/nonexistent/raereid-init.pt",
                                "a checkpoint to start from, e.g. runs/direct/model.pt"),
    "train.output": text("the run folder"),
    "train.sync_bn": flag(),
    "train.gap_picture": flag(),
    "train.adabn": flag(),
    "train.eval_split": choice("all", "test", "val",
                               hint="all = test and, when the target has one, the validation split"),
    "train.psnr_images": nonneg_int("0 = no PSNR / SSIM of the reconstructions"),
    "select.snapshots": Rule(lambda v: is_int(v) and 0 <= v <= 100, "an integer in [0, 100]", ("-1", "101"),
                             "weights-only snapshots kept along a run for raereid select, 0 = none"),
    "select.evaluate_snapshots": flag(),
    "select.signals": choice("cheap", "all", hint="the signals computed at every clustering (snapshots get all)"),
    "translate.height": positive_int("translation height in pixels (a multiple of 2**translate.downsamplings)"),
    "translate.width": positive_int("translation width in pixels (a multiple of 2**translate.downsamplings)"),
    "translate.batch_size": positive_int("unpaired images per domain and step (CycleGAN's 1)"),
    "translate.iterations": positive_int("translator training iterations"),
    "translate.lr": positive("Adam's rate of the translator (CycleGAN's 2e-4)"),
    "translate.beta1": interval(0.0, 1.0, high_open=True, hint="Adam's first beta (CycleGAN's 0.5)"),
    "translate.lr_decay_start": nonneg_int("iteration where the linear decay to 0 starts, 0 = constant rate"),
    "translate.lambda_cycle": nonneg("0 switches the cycle-consistency loss off"),
    "translate.lambda_identity": nonneg("relative to lambda_cycle, 0 switches the identity loss off"),
    "translate.generator_channels": positive_int("width of the generators' first convolution"),
    "translate.generator_blocks": positive_int("residual blocks of each generator"),
    "translate.downsamplings": positive_int("stride-2 convolutions of each generator"),
    "translate.discriminator_channels": positive_int("width of the PatchGAN's first convolution"),
    "translate.discriminator_layers": positive_int("PatchGAN depth: 3 = 70x70 patches"),
    "translate.pool_size": nonneg_int("generated images kept for the discriminators, 0 = off"),
    "translate.flip": probability("probability of a horizontal flip"),
    "translate.workers": nonneg_int("data-loading processes, 0 = load in the main process"),
    "translate.checkpoint_every": nonneg_int("0 = checkpoint at the end only"),
    "translate.log_every": positive_int("iterations between two loss records"),
    "translate.sample_images": positive_int("source images shown in translations.png"),
    "translate.quality": Rule(lambda v: is_int(v) and 1 <= v <= 100, "an integer in [1, 100]", ("0", "101"),
                              "JPEG quality of the translated images"),
    "custom_imports.imports": Rule(lambda v: isinstance(v, list) and all(map(is_plugin, v)),
                                   "module names or paths of .py files",
                                   ("1bad", "my-plugins", "raereid_no_such_plugin", "/nonexistent/raereid-plugin.py"),
                                   "imported before the config is checked; their @register_... decorators add names"),
}


def _reliability_needs_dbscan(cfg: Config) -> str | None:
    if cfg.cluster.reliability_gap > 0 and cfg.cluster.method != "dbscan":
        return (f"cluster.reliability_gap={cfg.cluster.reliability_gap} needs DBSCAN's eps, "
                f"but cluster.method={cfg.cluster.method}")
    return None


def _translate_size(cfg: Config) -> str | None:
    t = cfg.translate
    step = 2 ** min(t.downsamplings, 63)  # capped so that a huge value is refused rather than computed
    if t.height % step or t.width % step or t.height < 4 * step or t.width < 4 * step:
        return (f"translate.height={t.height} and translate.width={t.width} must be multiples of "
                f"2**translate.downsamplings = {step}, at least {4 * step} each")
    return None


CROSS_RULES: list[CrossRule] = [
    CrossRule(("cluster.reliability_gap", "cluster.method"), _reliability_needs_dbscan,
              "set cluster.method=dbscan, or cluster.reliability_gap=0 (off)"),
    CrossRule(("translate.height", "translate.width", "translate.downsamplings"), _translate_size,
              "e.g. 256x128 (paper scale) or 64x32 (CPU), or fewer translate.downsamplings"),
]


def origins_of(cfg: Config) -> dict[str, str]:
    """Where each key set by `load_config` came from (keys left at their default are absent)."""
    return dict(getattr(cfg, ORIGINS_ATTR, {}))


def origin(cfg: Config, key: str) -> str:
    """Where the value of `key` came from: a file, `preset NAME`, `--set ...`, a checkpoint, or the default."""
    return origins_of(cfg).get(key, "default (schema.py)")


def _example(key: str, rule: Rule) -> str:
    section, name = key.split(".")
    default = getattr(getattr(Config(), section), name)
    if not rule.ok(default):
        return ""
    shown = ",".join(map(str, default)) if isinstance(default, list) else str(default)
    return f", e.g. {key}={shown} (the default)"


def rule_error(key: str, value: Any, rule: Rule, where: str) -> ConfigError:
    """The ConfigError for `key`'s `value` breaking `rule`: key, value, where it came from and the fix."""
    hint = f" ({rule.hint})" if rule.hint else ""
    what = f"unknown {rule.noun} {value!r} for {key}" if rule.noun else f"{key}={value!r} is invalid"
    if rule.names is not None and isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), [str(n) for n in rule.names()], n=2, cutoff=0.6)
        what += f" (did you mean {' or '.join(close)}?)" if close else ""
    return ConfigError(f"{what}: expected {rule.expectation()}{hint}", where=where,
                       fix=f"set {key} to {rule.expected}{_example(key, rule)}")


def validate_config(cfg: Config) -> Config:
    """Check every key with a rule and every cross-key rule; the first violation raises ConfigError."""
    values = flat_values(cfg)
    for key, value in values.items():
        rule = RULES.get(key)
        if rule is not None and rule.stage == "load" and not rule.ok(value):
            raise rule_error(key, value, rule, origin(cfg, key))
    for cross in CROSS_RULES:
        check_cross_rule(cfg, cross)
    return cfg


def check_cross_rule(cfg: Config, cross: CrossRule) -> None:
    """Raise the ConfigError of `cross` if `cfg` breaks it: the problem, every key's origin and the fix."""
    problem = cross.problem(cfg)
    if problem:
        where = "; ".join(f"{k} from {origin(cfg, k)}" for k in cross.keys)
        raise ConfigError(problem, where=where, fix=cross.fix)


def missing_rules(cfg: Config | None = None) -> list[str]:
    """Config keys that have no entry in RULES (each needs one; the tests fail otherwise)."""
    return [k for k in flat_values(cfg or Config()) if k not in RULES]
