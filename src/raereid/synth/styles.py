"""The style tables: what each domain (camera network) and each of its cameras look like.

A domain is a camera network: its scenes (summer campus with pavement and greenery, winter campus
with brick, asphalt and parked cars, ...), its cameras (how many, which way people walk past them,
how they are lit) and its imaging chain (colour cast, contrast, gamma, optical blur, resolution
loss, sensor noise, JPEG quality, crop size). These are what differ between real re-ID datasets
and what a model trained on one has to cope with on another. `scenes` paints the backgrounds and
`imaging` applies the chain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class DomainStyle:
    """The look of one camera network; every field is recorded in synth.json."""

    name: str
    summary: str
    season: str  # attribute priors (identities.SEASONS)
    cameras: int
    scenes: str  # background family (see SCENE_FAMILIES)
    height: tuple[int, int]  # crop height range in pixels (inclusive)
    aspect: tuple[float, float]  # height / width range
    colour_cast: tuple[float, float, float]  # per-channel gains of the camera's white balance
    saturation: float
    contrast: float
    gamma: float
    brightness: float  # offset in [0, 1] units after contrast
    blur: float  # Gaussian sigma in output pixels (optics, focus, motion)
    resolution: float  # effective detail as a fraction of the crop size (down- then up-sampling)
    noise: float  # sensor noise sigma on the 0..255 scale
    jpeg_quality: int
    occlusion: float  # probability that an image is partly occluded
    shadow: float  # strength of cast shadows (sunny vs overcast)
    camera_gain: tuple[float, float]  # per-camera exposure range
    camera_tint: float  # per-camera white-balance error (max relative channel shift)
    camera_gradient: float  # per-camera side-light strength (max relative change across the image)
    indoor_cameras: int = 0  # the last cameras film indoors (artificial light, hall scenes)
    daylight: tuple[tuple[str, float, float], ...] = (("day", 1.0, 0.0),)  # sessions: name, gain, warmth

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CameraStyle:
    """One camera of a domain: exposure, white balance, side light and the walking directions it sees."""

    index: int  # 1-based camera number as written in file names
    gain: float
    tint: tuple[float, float, float]
    gradient: float
    views: tuple[float, float, float, float]  # probabilities of front, back, left-facing, right-facing
    squash: float  # vertical foreshortening of people from the camera's elevation
    indoor: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


DOMAINS: dict[str, DomainStyle] = {
    "market1501": DomainStyle(
        name="market1501",
        summary="summer campus in front of a supermarket, sunny; standard-definition cameras: warm, "
        "contrasty and saturated, small 128x64 crops with strong resolution loss, visible noise and "
        "heavy JPEG compression",
        season="summer",
        cameras=6,
        scenes="campus_summer",
        height=(128, 128),
        aspect=(2.0, 2.0),
        colour_cast=(1.06, 1.0, 0.9),
        saturation=1.12,
        contrast=1.1,
        gamma=0.95,
        brightness=0.02,
        blur=0.3,
        resolution=0.6,
        noise=5.0,
        jpeg_quality=72,
        occlusion=0.1,
        shadow=0.45,
        camera_gain=(0.85, 1.15),
        camera_tint=0.08,
        camera_gradient=0.16,
    ),
    "dukemtmcreid": DomainStyle(
        name="dukemtmcreid",
        summary="winter campus (brick and stone buildings, asphalt, parked cars, bare trees), overcast; "
        "HD cameras: cool, low-contrast, desaturated and darker, larger crops of varying size, mild "
        "optical blur, little noise, light JPEG compression, more occlusion",
        season="winter",
        cameras=8,
        scenes="campus_winter",
        height=(176, 264),
        aspect=(2.2, 3.0),
        colour_cast=(0.92, 0.98, 1.08),
        saturation=0.8,
        contrast=0.85,
        gamma=1.15,
        brightness=-0.02,
        blur=0.8,
        resolution=0.9,
        noise=2.5,
        jpeg_quality=90,
        occlusion=0.2,
        shadow=0.15,
        camera_gain=(0.75, 1.1),
        camera_tint=0.06,
        camera_gradient=0.08,
    ),
    "msmt17": DomainStyle(
        name="msmt17",
        summary="large campus in winter, 12 outdoor cameras (plazas, glass and concrete buildings) and 3 "
        "indoor ones (halls under fluorescent light), filmed on four days in the morning, at noon and in "
        "the afternoon; HD cameras: neutral colour, crops of widely varying size and aspect, moderate "
        "blur and noise",
        season="winter",
        cameras=15,
        scenes="campus_mixed",
        height=(120, 300),
        aspect=(1.8, 3.2),
        colour_cast=(1.0, 1.0, 1.0),
        saturation=0.95,
        contrast=1.0,
        gamma=1.0,
        brightness=0.0,
        blur=0.6,
        resolution=0.8,
        noise=3.5,
        jpeg_quality=85,
        occlusion=0.15,
        shadow=0.3,
        camera_gain=(0.8, 1.15),
        camera_tint=0.08,
        camera_gradient=0.12,
        indoor_cameras=3,
        daylight=(("morning", 0.82, -0.05), ("noon", 1.12, 0.0), ("afternoon", 0.95, 0.07)),
    ),
}


def camera_styles(domain: DomainStyle, seed: int, domain_index: int) -> list[CameraStyle]:
    """Draw the domain's cameras from the seed: each sees people walk along, across or obliquely."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xCA, domain_index]))
    cams = []
    for c in range(domain.cameras):
        layout = rng.choice(3)  # 0: path along the view axis, 1: across it, 2: oblique
        side = (0.1, 0.8, 0.45)[layout] * rng.uniform(0.8, 1.2)
        towards = rng.uniform(0.3, 0.7)  # share of people walking towards the camera
        rightward = rng.uniform(0.2, 0.8)
        views = ((1 - side) * towards, (1 - side) * (1 - towards), side * (1 - rightward), side * rightward)
        total = sum(views)
        tint = 1.0 + rng.uniform(-domain.camera_tint, domain.camera_tint) * np.array([1.0, 0.0, -1.0])
        tint = tint * (1.0 + rng.uniform(-0.3, 0.3) * domain.camera_tint * np.array([0.0, 1.0, 0.0]))
        indoor = c >= domain.cameras - domain.indoor_cameras
        if indoor:  # fluorescent tubes: green-yellow cast, even light
            tint = tint * np.array([1.0, 1.05, 0.9])
        cams.append(
            CameraStyle(
                index=c + 1,
                gain=round(float(rng.uniform(*domain.camera_gain)), 4),
                tint=tuple(round(float(t), 4) for t in tint),
                gradient=round(float(rng.uniform(-domain.camera_gradient, domain.camera_gradient)), 4),
                views=tuple(round(v / total, 4) for v in views),
                squash=round(float(rng.uniform(0.9, 1.0)), 4),
                indoor=bool(indoor),
            )
        )
    return cams
