"""The training configuration: plain dataclasses whose defaults are the paper's values where it gives them (Section
IV-B), else the readings of docs/interpretations.md (the paper presets say, key by key, which is which).

Presets (YAML in `presets/`) and `--set section.key=value` overrides change these fields; an
unknown key or a value of the wrong type is an error, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal


@dataclass
class DataConfig:
    root: str = "data"  # folder holding the datasets
    source: str = "dukemtmcreid"  # labelled source dataset: a name (market1501, dukemtmcreid, msmt17, ...) or a folder
    target: str = "market1501"  # unlabelled target dataset: a name or a folder (of images)
    height: int = 256  # input height in pixels
    width: int = 128  # input width in pixels
    p: int = 18  # identities per batch, per domain
    k: int = 4  # images per identity
    # target batch of its own (mmcl, jvtc: every image a class, so P images x K augmented views); 0 = as data.p / data.k
    target_p: int = 0
    target_k: int = 0  # views of each target image in a batch (mmcl: 1, uniform draws); 0 = data.k
    workers: int = 4  # data-loading processes
    flip: float = 0.5  # probability of a random horizontal flip
    pad: int = 10  # pixels of padding before the random crop (0 = no crop)
    erasing: float = 0.5  # random-erasing probability
    # brightness, contrast, saturation, hue (the paper uses none)
    color_jitter: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    test_batch_size: int = 128  # images per batch when extracting descriptors
    verify_images: bool = True  # decode every image once before training; report corrupt files
    cache_images: bool = False  # keep decoded images at the input size in memory (small datasets, data.workers=0)

    @property
    def target_batch(self) -> tuple[int, int]:
        """(P, K) of the target's batches: target_p / target_k, or the source's data.p / data.k where they are 0."""
        return self.target_p or self.p, self.target_k or self.k


@dataclass
class ModelConfig:
    backbone: str = "resnet50"  # a registered backbone (raereid.models.backbones) or timm:NAME
    pretrained: str = "imagenet"  # imagenet | none | path to a weights file in the backbone's published key layout
    last_stride: int = 1  # stride of the backbone's last stage (1 doubles the feature map)
    pooling: str = "avg"  # avg (the paper's GAP) | max | gem (learnable p; the fused map is average-pooled with gem)
    dropout: float = 0.5  # dropout before the classifiers
    neck: str = "none"  # none (the paper's) | bn (batch-norm neck before the classifiers and the descriptor)
    decoder_channels: list[int] = field(default_factory=lambda: [256, 128])  # hidden widths of the decoder Dec
    discriminator_channels: list[int] = field(default_factory=lambda: [64, 128, 256])  # strided convolutions' widths
    fusion_dim: int = 2048  # d, the joint dimension of U and V
    fusion_out: int = 2048  # o, the fused descriptor's dimension
    fusion_power_norm: bool = False  # signed square root of the fused descriptor
    fusion_l2_norm: bool = False  # unit-norm fused descriptor for the losses too
    # batch norm of the recurrent pass Enc(Dec(F)): running (the encoder's running statistics of real images, in
    # training as at inference) | own (batch statistics in training, kept in running statistics of its own for
    # inference) | batch (batch statistics in training, real images' at inference) | shared (batch: and it moves them)
    recurrent_bn: str = "own"
    flip_test: bool = False  # average descriptors of an image and its mirror at test time
    # domain-specific batch norm (source / target statistics and affine parameters; target at test time)
    dsbn: bool = False


@dataclass
class LossConfig:
    margin: float = 0.3  # batch-hard triplet margin
    label_smoothing: float = 0.0  # of the identity cross-entropy terms
    lambda_tri: float = 1.0  # weight of the triplet terms
    # weight of the source identity terms (Eq. 3-4, 22); 0 = the target alone shapes the identities
    lambda_source: float = 1.0
    lambda_gan_feat: float = 10.0  # weight of the feature-level GAN term
    lambda_gan_pix: float = 10.0  # weight of the pixel-level GAN terms
    lambda_rec: float = 1.0  # weight of Eq. 12 / 15, the reconstruction term
    # Eq. 12 / 15's "||I - I_hat||2" per image: l2 (the Euclidean norm, as Eq. 4's distance) | squared (its square)
    reconstruction_norm: str = "l2"
    pix_disc_sees_target: bool = False  # Dis_pix also learns to reject target reconstructions (Eq. 13: it does not)
    # share of the source pixel terms' gradient (Eq. 11-13) reaching the encoder's map through Dec (0: Dec alone)
    source_pix_to_encoder: float = 0.0
    # share of the target pixel terms' gradient (Eq. 14-16) reaching the encoder's map through Dec (1: the paper's
    # "forcing the target features to reconstruct images with source-style")
    target_pix_to_encoder: float = 1.0
    # share of the fused branch's gradient (Eq. 21) reaching the encoder's map through Dec and the recurrent pass
    fusion_to_encoder: float = 0.0


@dataclass
class OptimConfig:
    optimizer: str = "sgd"  # sgd (the paper's) | adam, for Enc / Dec / P / classifiers
    lr_encoder: float = 0.05  # learning rate of the encoder Enc
    lr_other: float = 0.5  # learning rate of the decoder, fusion and classifiers
    lr_discriminator: float = 0.5  # learning rate of the discriminators
    disc_optimizer: str = "sgd"  # sgd (the paper: one SGD for all parts) | adam
    momentum: float = 0.9  # SGD momentum
    adam_beta1: float = 0.9  # Adam's first beta (0.5 is the usual choice for GAN discriminators)
    weight_decay: float = 5e-5  # L2 weight decay of every optimiser
    iterations: int = 20000  # training iterations (batches of the source and the target)
    lr_step: int = 8000  # multiply learning rates by lr_gamma every lr_step iterations
    lr_gamma: float = 0.1  # learning-rate factor applied every lr_step iterations
    warmup_iters: int = 0  # linear learning-rate warm-up
    grad_clip: float = 0.0  # max gradient norm, 0 = off


@dataclass
class SourceConfig:
    """The source stage, before adaptation: Enc learns the source ids (cross-entropy + triplet) and Dec learns to
    reconstruct source images (reconstruction + pixel GAN), as the paper's section III describes; optim.* and loss.*
    apply, but for the keys below. `raereid train` runs it into OUTPUT/source/ unless train.init is given."""

    iterations: int = 12000  # 0 = no source stage (adapt from the backbone's initial weights)
    lr_encoder: float = 0.05  # the encoder's learning rate in this stage
    lr_other: float = 0.5  # decoder and source classifier
    lr_step: int = 8000  # multiply the rates by optim.lr_gamma every lr_step iterations (0 = constant)
    decoder: bool = True  # train Dec and Dis_pix on the source too (kept for the variants that use a decoder)
    # loss.source_pix_to_encoder in this stage (0: Enc learns from its identity losses only)
    source_pix_to_encoder: float = 0.0


@dataclass
class ClusterConfig:
    method: str = "dbscan"  # any registered label generator (dbscan, kmeans, ...)
    eps: float | str = 0.6  # a float, or "auto" for the mean of the smallest rho fraction of distances
    rho: float = 1.6e-3  # eps=auto: the share of the smallest distances averaged into eps
    min_samples: int = 4  # DBSCAN's neighbours of a core point
    k1: int = 30  # k-reciprocal neighbours of the Jaccard distance
    k2: int = 6  # neighbours of the Jaccard distance's query expansion
    num_clusters: int = 500  # k-means only
    # the descriptor clustered: encoder (the paper's) | final (Algorithm 2's)
    feature: Literal["final", "encoder"] = "encoder"
    reliability_gap: float = 0.0  # dbscan: SpCL's self-paced reliability with eps +/- this gap (0 = off; SpCL 0.02)


@dataclass
class LearnerConfig:
    """How pseudo-labels (and source ids) train the network (raereid.learners).

    Schedules (mplp_start, jvtc_global_start, the momentum ramps) are shares of optim.iterations, not epochs."""

    name: str = "classifier"  # the paper's classifiers, or a registered learner (memory, hybrid, ...)
    temperature: float = 0.05  # memory / hybrid learners: InfoNCE temperature
    memory_momentum: float = 0.1  # memory learner: weight of the old centroid in its update (Cluster Contrast's 0.1)
    hybrid_momentum: float = 0.2  # hybrid learner: weight of the old entry in its update (SpCL's 0.2)
    mplp_threshold: float = 0.6  # mmcl: similarity t above which an image is a label candidate (MMCL's code: 0.6)
    mplp_min_candidates: int = 10  # mmcl: least neighbourhood of MPLP's cycle-consistency check (MMCL's code: 10)
    mplp_start: float = 0.1  # mmcl: share of optim.iterations with single-class labels before MPLP (code: 6/60 epochs)
    mmcl_delta: float = 5.0  # mmcl: delta, weight of the positive term of the MMCL loss (MMCL's code: 5)
    mmcl_hard_ratio: float = 0.01  # mmcl: r, share of the negatives kept as hard negatives (MMCL's code: 1%)
    # mmcl: weight of the old memory entry at the end of training, reached linearly from 0 (code: 0.5 * epoch / 60)
    mmcl_momentum: float = 0.5
    jvtc_local_temperature: float = 0.1  # jvtc: beta1 of the local (self-adaptive) classification (JVTC's code: 0.1)
    jvtc_global_temperature: float = 0.05  # jvtc: beta2 of the global memory classification (JVTC's code: 0.05)
    jvtc_global_weight: float = 0.2  # jvtc: weight of the global term (JVTC's code: 0.2)
    jvtc_global_start: float = 0.1  # jvtc: share of optim.iterations before the global term counts (code: 10 of 100)
    jvtc_momentum_max: float = 0.8  # jvtc: cap of the memory momentum, which grows with training (code: 0.8)


@dataclass
class TrainConfig:
    variant: str = "full"  # a row of the paper's Table IV: a name in config/variants.py's VARIANTS
    seed: int = 0  # random seed (weights, sampling, augmentation)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision (CUDA only)
    iters_per_epoch: int = 0  # iterations between two clusterings; 0 = one pass over the target images
    eval_every: int = 2000  # iterations between two evaluations on the target (0 = only at the end)
    checkpoint_every: int = 1000  # iterations between two checkpoints/last.pt (0 = at the end only)
    log_every: int = 20  # iterations between two loss records
    init: str = ""  # checkpoint to start from (e.g. a direct-transfer run)
    output: str = "runs/rae"  # the run folder
    sync_bn: bool = True  # batch norm over the global batch when training on several processes
    gap_picture: bool = True  # at the end, OUTPUT/domain_gap.png: t-SNE of source/target descriptors (before/after)
    adabn: bool = False  # re-estimate the target's batch-norm statistics (AdaBN) before the first clustering
    eval_split: Literal["all", "test", "val"] = "all"  # the target splits scored: all = test and, if present, val
    psnr_images: int = 256  # images per domain scored for reconstruction quality (PSNR / SSIM); 0 = none


@dataclass
class SelectConfig:
    """Label-free run health and model selection (docs/selection.md): signals of every clustering, and the weights
    `raereid select` ranks without labels. Not in the paper."""

    snapshots: int = 4  # weights-only checkpoints kept along a run (checkpoints/select/), at clustering boundaries
    # score each snapshot on the target's labelled splits too, for the record (never an input to the score; costs
    # one evaluation per snapshot; the benchmark tables switch it on)
    evaluate_snapshots: bool = False
    # signals at every clustering: cheap = cluster sizes, cameras and stability (milliseconds); all = also the
    # silhouette, the neighbourhood agreement and SND (seconds on a large target). Snapshots always get all.
    signals: Literal["cheap", "all"] = "cheap"


@dataclass
class TranslateConfig:
    """`raereid translate`: CycleGAN (Zhu et al.) translating the source into the target's style (Table IV's P^T)."""

    height: int = 256  # images are translated at this size, then resized back to each file's own size
    width: int = 128  # translation width (height is above)
    batch_size: int = 1  # unpaired images per domain and step (CycleGAN's 1)
    # about five passes over DukeMTMC-reID's 16,522 training images at batch 1 (not in the paper)
    iterations: int = 80000
    lr: float = 0.0002  # Adam, generators and discriminators
    beta1: float = 0.5  # Adam's first beta (second is 0.999)
    # the rate falls linearly to 0 from here to `iterations` (CycleGAN: second half); 0 = constant
    lr_decay_start: int = 40000
    lambda_cycle: float = 10.0  # weight of the cycle-consistency L1 loss (both directions)
    lambda_identity: float = 0.5  # identity L1 loss weight, relative to lambda_cycle (G_to_target(target) = target)
    generator_channels: int = 64  # width of the generators' first convolution
    generator_blocks: int = 9  # residual blocks of each generator
    downsamplings: int = 2  # stride-2 convolutions of each generator (height and width must be multiples of 2**this)
    discriminator_channels: int = 64  # width of the PatchGAN's first convolution
    discriminator_layers: int = 3  # PatchGAN depth: 3 = 70x70 patches, 2 = 34x34, 1 = 16x16
    pool_size: int = 50  # history of generated images the discriminators also see (0 = off)
    flip: float = 0.5  # random horizontal flip of training images
    workers: int = 4  # data-loading processes
    checkpoint_every: int = 1000  # iterations between two checkpoints (0 = at the end only)
    log_every: int = 50  # iterations between two loss records
    sample_images: int = 8  # source images (and their translations) in OUT/translations.png
    quality: int = 95  # JPEG quality of translated images written as .jpg


@dataclass
class CustomImportsConfig:
    """Plugins (raereid/plugins.py): modules imported before the config is checked, so that the learners, label
    generators, ... they register can be named in it. YAML: `custom_imports: [my_plugins, ./more.py]`."""

    imports: list[str] = field(default_factory=list)  # module names or .py files; every source adds to the list


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    translate: TranslateConfig = field(default_factory=TranslateConfig)
    custom_imports: CustomImportsConfig = field(default_factory=CustomImportsConfig)


def flat_values(cfg: Config | Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """{"section.key": value} of a Config, or of its nested-dict form (`config_to_dict`, a checkpoint's "config")."""
    if isinstance(cfg, Mapping):
        return {f"{s}.{k}": v for s, values in cfg.items() for k, v in values.items()}
    sections = ((s.name, getattr(cfg, s.name)) for s in fields(cfg))
    return {f"{name}.{f.name}": getattr(section, f.name) for name, section in sections for f in fields(section)}
