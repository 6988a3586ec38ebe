"""The networks of RAE: encoder, decoder, discriminators, bilinear fusion, identity heads."""

from raereid.models.decoder import Decoder
from raereid.models.discriminator import Discriminator
from raereid.models.encoder import BACKBONES, Encoder
from raereid.models.fusion import BilinearFusion
from raereid.models.heads import Classifier
from raereid.models.rae import RAE, Discriminators

__all__ = ["Encoder", "BACKBONES", "Decoder", "Discriminator", "BilinearFusion", "Classifier", "RAE", "Discriminators"]
