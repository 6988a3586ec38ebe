"""The networks of RAE: encoder (on a registered backbone), decoder, discriminators, bilinear fusion, pooling, heads."""

from raereid.models.backbones import Backbone, backbone_names, register_backbone
from raereid.models.decoder import Decoder
from raereid.models.discriminator import Discriminator
from raereid.models.encoder import Encoder
from raereid.models.fusion import BilinearFusion
from raereid.models.heads import Classifier
from raereid.models.pooling import GeM, make_pooling
from raereid.models.rae import RAE, Discriminators

__all__ = ["Encoder", "Backbone", "backbone_names", "register_backbone", "Decoder", "Discriminator", "BilinearFusion",
           "Classifier", "GeM", "make_pooling", "RAE", "Discriminators"]
